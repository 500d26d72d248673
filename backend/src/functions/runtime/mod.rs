//! The JavaScript that runs beside every function bundle: `launcher.mjs` serves a bundle on a
//! loopback port (the local runtime runs it as a script), and `lambda.mjs` is the handler of
//! every Lambda version, forwarding each invocation to the same launcher. Both travel with the
//! binaries (`include_str!`), so the proxy, the CLI and the builder agree on them.

/// `launcher.mjs`: `node launcher.mjs <bundle> <handler> <helpers 0|1>`, or `import { serve }`.
pub const LAUNCHER: &str = include_str!("launcher.mjs");

/// `lambda.mjs`: the Lambda handler (`___pier/lambda.handler`) over the launcher.
pub const LAMBDA_ENTRY: &str = include_str!("lambda.mjs");
