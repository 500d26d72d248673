//! What only public DNS can tell about a custom domain, asked of a resolver the caller names
//! (the system's from `/etc/resolv.conf`, or any `IP:PORT`), over a minimal RFC 1035 UDP
//! client:
//!
//! - delegation: the parent must delegate the Route53 zone to the zone's own name servers,
//!   otherwise the records Pier writes are not authoritative and nobody sees them;
//! - CAA (RFC 8659 §3): the closest name at or above the host with CAA records decides which
//!   CAs may issue; without `amazon.com` (or Amazon's other CAA domains) ACM cannot;
//! - propagation: whether the host resolves to the distribution's addresses yet.
//!
//! Nothing here guesses: a resolver that does not answer makes the check `skipped`, with the
//! reason.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::{Step, StepReport, StepStatus};

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_CAA: u16 = 257;

/// The CAA issuer domains that let ACM issue (ACM's documentation lists all four).
pub const AMAZON_CAA_ISSUERS: [&str; 4] = [
    "amazon.com",
    "amazontrust.com",
    "awstrust.com",
    "amazonaws.com",
];

/// A DNS resolver reached over UDP.
#[derive(Debug, Clone)]
pub struct Resolver {
    pub address: SocketAddr,
    pub timeout: Duration,
}

/// One answer record, with the data types the checks read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    Address(IpAddr),
    Name(String),
    Caa { tag: String, value: String },
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub kind: u16,
    pub data: RecordData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// RFC 1035 §4.1.1 RCODE: 0 no error, 3 name error (NXDOMAIN).
    pub rcode: u8,
    pub records: Vec<Record>,
}

impl Resolver {
    pub fn new(address: SocketAddr) -> Resolver {
        Resolver {
            address,
            timeout: Duration::from_millis(1500),
        }
    }

    /// The first `nameserver` in `/etc/resolv.conf`, on port 53.
    pub fn system() -> Option<Resolver> {
        let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
        conf.lines()
            .filter_map(|line| line.trim().strip_prefix("nameserver"))
            .filter_map(|rest| rest.trim().parse::<IpAddr>().ok())
            .map(|ip| Resolver::new(SocketAddr::new(ip, 53)))
            .next()
    }

    /// Asks for `kind` records at `name`, with recursion desired.
    pub async fn query(&self, name: &str, kind: u16) -> Result<Answer, String> {
        let id: u16 = rand::random();
        let question = encode_query(id, name, kind)?;
        let bind = if self.address.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let socket = tokio::net::UdpSocket::bind(bind)
            .await
            .map_err(|e| e.to_string())?;
        socket
            .send_to(&question, self.address)
            .await
            .map_err(|e| e.to_string())?;
        let mut buffer = vec![0u8; 4096];
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let received = tokio::time::timeout_at(deadline, socket.recv_from(&mut buffer)).await;
            let (length, from) = match received {
                Err(_) => return Err(format!("no answer within {:?}", self.timeout)),
                Ok(result) => result.map_err(|e| e.to_string())?,
            };
            if from != self.address || length < 12 || buffer[..2] != id.to_be_bytes() {
                continue;
            }
            return parse_answer(&buffer[..length]);
        }
    }
}

/// An RFC 1035 §4.1 query message.
pub fn encode_query(id: u16, name: &str, kind: u16) -> Result<Vec<u8>, String> {
    let mut message = Vec::with_capacity(64);
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    message.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("`{name}` is not a valid DNS name"));
        }
        message.push(label.len() as u8);
        message.extend_from_slice(label.as_bytes());
    }
    message.push(0);
    message.extend_from_slice(&kind.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes()); // IN
    Ok(message)
}

/// Reads a possibly compressed name (RFC 1035 §4.1.4) at `at`; returns it and where the
/// bytes after it start.
fn read_name(message: &[u8], mut at: usize) -> Result<(String, usize), String> {
    let mut labels = Vec::new();
    let mut end = None;
    for _ in 0..128 {
        let length = *message.get(at).ok_or("truncated name")? as usize;
        if length == 0 {
            return Ok((labels.join("."), end.unwrap_or(at + 1)));
        }
        if length & 0xC0 == 0xC0 {
            let low = *message.get(at + 1).ok_or("truncated pointer")? as usize;
            end.get_or_insert(at + 2);
            at = ((length & 0x3F) << 8) | low;
            continue;
        }
        let label = message
            .get(at + 1..at + 1 + length)
            .ok_or("truncated label")?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += 1 + length;
    }
    Err("name compression loops".into())
}

fn u16_at(message: &[u8], at: usize) -> Result<u16, String> {
    message
        .get(at..at + 2)
        .map(|bytes| u16::from_be_bytes([bytes[0], bytes[1]]))
        .ok_or_else(|| "truncated message".to_string())
}

/// Parses a response's answer section.
pub fn parse_answer(message: &[u8]) -> Result<Answer, String> {
    let flags = u16_at(message, 2)?;
    if flags & 0x0200 != 0 {
        return Err("the answer was truncated (TC); it needs TCP, which Pier does not use".into());
    }
    let questions = u16_at(message, 4)?;
    let answers = u16_at(message, 6)?;
    let mut at = 12;
    for _ in 0..questions {
        at = read_name(message, at)?.1 + 4;
    }
    let mut records = Vec::new();
    for _ in 0..answers {
        let (name, next) = read_name(message, at)?;
        let kind = u16_at(message, next)?;
        let length = u16_at(message, next + 8)? as usize;
        let start = next + 10;
        let rdata = message
            .get(start..start + length)
            .ok_or("truncated record")?;
        let data = match kind {
            TYPE_A if length == 4 => {
                RecordData::Address(IpAddr::from([rdata[0], rdata[1], rdata[2], rdata[3]]))
            }
            TYPE_AAAA if length == 16 => {
                let octets: [u8; 16] = rdata.try_into().expect("16 bytes");
                RecordData::Address(IpAddr::from(octets))
            }
            TYPE_NS | TYPE_CNAME => RecordData::Name(read_name(message, start)?.0),
            TYPE_CAA if length >= 2 => {
                let tag_length = rdata[1] as usize;
                let tag = rdata.get(2..2 + tag_length).ok_or("truncated CAA tag")?;
                RecordData::Caa {
                    tag: String::from_utf8_lossy(tag).to_ascii_lowercase(),
                    value: String::from_utf8_lossy(&rdata[2 + tag_length..]).to_string(),
                }
            }
            _ => RecordData::Other,
        };
        records.push(Record { name, kind, data });
        at = start + length;
    }
    Ok(Answer {
        rcode: (flags & 0x000F) as u8,
        records,
    })
}

/// The issuer domain of a CAA `issue` value (`amazon.com; account=…` → `amazon.com`).
fn issuer(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The RFC 8659 verdict for a non-wildcard host from the relevant CAA set: `Ok` when ACM may
/// issue, else the issuers that may.
pub fn caa_allows_amazon(records: &[Record]) -> Result<(), Vec<String>> {
    let issuers: Vec<String> = records
        .iter()
        .filter_map(|record| match &record.data {
            RecordData::Caa { tag, value } if tag == "issue" => Some(issuer(value)),
            _ => None,
        })
        .collect();
    if issuers.is_empty()
        || issuers
            .iter()
            .any(|i| AMAZON_CAA_ISSUERS.contains(&i.as_str()))
    {
        Ok(())
    } else {
        Err(issuers
            .into_iter()
            .map(|i| {
                if i.is_empty() {
                    "no CA (\";\")".into()
                } else {
                    i
                }
            })
            .collect())
    }
}

fn addresses(answer: &Answer) -> Vec<IpAddr> {
    answer
        .records
        .iter()
        .filter_map(|record| match record.data {
            RecordData::Address(ip) => Some(ip),
            _ => None,
        })
        .collect()
}

/// Runs the public-DNS checks for `host`, whose Route53 zone (if any) is `zone` with name
/// servers `expected_ns`, served by the distribution at `target`.
pub async fn diagnose(
    resolver: &Resolver,
    host: &str,
    zone: Option<&str>,
    expected_ns: &[String],
    target: &str,
) -> Vec<StepReport> {
    let mut reports = Vec::new();
    let unreachable = |error: &str| {
        format!(
            "the resolver {} did not answer ({error}); public DNS was not checked",
            resolver.address
        )
    };

    if let Some(zone) = zone {
        match resolver.query(zone, TYPE_NS).await {
            Err(error) => {
                for step in [Step::Delegation, Step::Caa, Step::Propagation] {
                    reports.push(StepReport::new(
                        step,
                        StepStatus::Skipped,
                        unreachable(&error),
                    ));
                }
                return reports;
            }
            Ok(answer) => {
                let found: Vec<String> = answer
                    .records
                    .iter()
                    .filter_map(|record| match &record.data {
                        RecordData::Name(name) if record.kind == TYPE_NS => Some(name.clone()),
                        _ => None,
                    })
                    .collect();
                let authoritative = found.iter().any(|ns| expected_ns.contains(ns));
                reports.push(StepReport::new(
                    Step::Delegation,
                    if authoritative {
                        StepStatus::Done
                    } else {
                        StepStatus::Failed
                    },
                    if authoritative {
                        format!("{zone} is delegated to its Route53 name servers")
                    } else if found.is_empty() {
                        format!(
                            "public DNS has no NS records for {zone}: set these at your registrar: {}",
                            expected_ns.join(", ")
                        )
                    } else {
                        format!(
                            "the Route53 zone is not authoritative: public DNS delegates {zone} to {}, but the zone's name servers are {}; set those at your registrar",
                            found.join(", "),
                            expected_ns.join(", ")
                        )
                    },
                ));
            }
        }
    }

    let labels: Vec<&str> = host.split('.').collect();
    let mut caa = None;
    for start in 0..labels.len().saturating_sub(1) {
        let name = labels[start..].join(".");
        match resolver.query(&name, TYPE_CAA).await {
            Err(error) => {
                caa = Some(StepReport::new(
                    Step::Caa,
                    StepStatus::Skipped,
                    unreachable(&error),
                ));
                break;
            }
            Ok(answer) => {
                let records: Vec<Record> = answer
                    .records
                    .into_iter()
                    .filter(|record| record.kind == TYPE_CAA)
                    .collect();
                if records.is_empty() {
                    continue;
                }
                caa = Some(match caa_allows_amazon(&records) {
                    Ok(()) => StepReport::new(
                        Step::Caa,
                        StepStatus::Done,
                        format!("CAA records at {name} allow Amazon"),
                    ),
                    Err(issuers) => StepReport::new(
                        Step::Caa,
                        StepStatus::Failed,
                        format!(
                            "CAA records at {name} allow only {}, so ACM cannot issue: add `{name}. CAA 0 issue \"amazon.com\"`",
                            issuers.join(", ")
                        ),
                    ),
                });
                break;
            }
        }
    }
    reports.push(caa.unwrap_or_else(|| {
        StepReport::new(
            Step::Caa,
            StepStatus::Done,
            "no CAA records: any CA, Amazon included, may issue",
        )
    }));

    let propagation = match (
        resolver.query(host, TYPE_A).await,
        resolver.query(target, TYPE_A).await,
    ) {
        (Err(error), _) | (_, Err(error)) => {
            StepReport::new(Step::Propagation, StepStatus::Skipped, unreachable(&error))
        }
        (Ok(found), Ok(expected)) => {
            let found = addresses(&found);
            let expected = addresses(&expected);
            if found.is_empty() {
                StepReport::new(
                    Step::Propagation,
                    StepStatus::Waiting,
                    format!("{host} does not resolve yet; new records take up to their TTL"),
                )
            } else if found.iter().any(|ip| expected.contains(ip)) {
                StepReport::new(
                    Step::Propagation,
                    StepStatus::Done,
                    format!("{host} resolves to the distribution ({})", join(&found)),
                )
            } else {
                StepReport::new(
                    Step::Propagation,
                    StepStatus::Waiting,
                    format!(
                        "{host} resolves to {}, not to {target} ({}) yet; old records live until their TTL ends",
                        join(&found),
                        join(&expected)
                    ),
                )
            }
        }
    };
    reports.push(propagation);
    reports
}

fn join(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caa_issue_tags_decide_and_issuewild_does_not_for_plain_hosts() {
        let caa = |tag: &str, value: &str| Record {
            name: "example.com".into(),
            kind: TYPE_CAA,
            data: RecordData::Caa {
                tag: tag.into(),
                value: value.into(),
            },
        };
        assert!(caa_allows_amazon(&[caa("issue", "letsencrypt.org")]).is_err());
        assert!(
            caa_allows_amazon(&[caa("issue", "letsencrypt.org"), caa("issue", "amazon.com")])
                .is_ok()
        );
        assert!(caa_allows_amazon(&[caa("issue", "amazontrust.com; account=1")]).is_ok());
        assert!(caa_allows_amazon(&[caa("iodef", "mailto:a@example.com")]).is_ok());
        assert!(caa_allows_amazon(&[caa("issuewild", "letsencrypt.org")]).is_ok());
        assert_eq!(
            caa_allows_amazon(&[caa("issue", ";")]),
            Err(vec!["no CA (\";\")".to_string()])
        );
    }

    #[test]
    fn queries_are_rfc_1035_messages() {
        let message = encode_query(0x1234, "www.example.com", TYPE_CAA).unwrap();
        assert_eq!(&message[..2], &[0x12, 0x34]);
        assert_eq!(&message[12..17], b"\x03www\x07");
        assert_eq!(&message[message.len() - 4..], &[0x01, 0x01, 0x00, 0x01]);
        assert!(encode_query(1, "a..b", TYPE_A).is_err());
    }
}
