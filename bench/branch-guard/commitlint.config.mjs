// The peer's configuration: exactly @commitlint/config-conventional.
export default { extends: ["@commitlint/config-conventional"] };
