//! Prometheus metrics (text exposition format 0.0.4 via `prometheus-client`): requests by
//! status, a latency histogram, cache hits and misses by cache, bytes sent (and how many of
//! them the kernel sent from files), open connections.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabel {
    pub cache: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<StatusLabel, Counter>,
    pub latency: Histogram,
    pub cache_hits: Family<CacheLabel, Counter>,
    pub cache_misses: Family<CacheLabel, Counter>,
    pub bytes_sent: Counter,
    pub connections: Gauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("pier_proxy");
        let requests = Family::<StatusLabel, Counter>::default();
        let latency = Histogram::new(exponential_buckets(0.0001, 2.5, 14));
        let cache_hits = Family::<CacheLabel, Counter>::default();
        let cache_misses = Family::<CacheLabel, Counter>::default();
        let bytes_sent = Counter::default();
        let connections = Gauge::default();
        registry.register("requests", "HTTP requests by status", requests.clone());
        registry.register(
            "request_duration_seconds",
            "Time to the response head",
            latency.clone(),
        );
        registry.register("cache_hits", "Cache hits by cache", cache_hits.clone());
        registry.register(
            "cache_misses",
            "Cache misses by cache",
            cache_misses.clone(),
        );
        registry.register("sent_bytes", "Body bytes sent", bytes_sent.clone());
        registry.register(
            "sent_from_file_bytes",
            "Body bytes the kernel sent straight from a folder store's files (sendfile), \
             counted for the whole process",
            crate::sendfile::SENT_FROM_FILE.clone(),
        );
        registry.register(
            "open_connections",
            "Open client connections",
            connections.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            cache_hits,
            cache_misses,
            bytes_sent,
            connections,
        }
    }

    pub fn cache(&self, cache: &'static str, hit: bool) {
        let family = if hit {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        family.get_or_create(&CacheLabel { cache }).inc();
    }

    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String");
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
