//! What the route engine reads of a request: its method, decoded path, raw query, host and
//! headers. The proxy shows it a hyper request; tests show it plain values.

/// What the engine needs to know of a request.
pub trait Incoming {
    fn method(&self) -> &str;
    /// Percent-decoded and normalised, starting with `/`.
    fn path(&self) -> &str;
    /// The raw query string, without `?`.
    fn query(&self) -> Option<&str>;
    /// Lower-case, without the port.
    fn host(&self) -> &str;
    /// A request header by lower-case name.
    fn header(&self, name: &str) -> Option<&str>;
}
