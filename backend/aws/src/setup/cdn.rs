//! The CDN: an ACM certificate for `*.<base domain>` in us-east-1 (where CloudFront takes
//! certificates from) validated through DNS, a CloudFront distribution in front of the load
//! balancer, and the wildcard alias records in the base domain's Route53 zone.
//!
//! Cache strategy (see ARCHITECTURE.md, "CDN"): every method reaches the proxy (functions take
//! POST, PUT, PATCH, DELETE and OPTIONS) with every header, cookie and query string (the managed
//! `AllViewer` origin request policy); the cache key is the Host header, the query and the
//! cookies, and CloudFront follows the proxy's `Cache-Control` with minimum TTL 0 (the managed
//! `UseOriginCacheControlHeaders-QueryStrings` cache policy), so a page a function renders per
//! cookie is never handed to another visitor.
//! Fingerprinted assets are `immutable` for a year, so the edge keeps them; everything else
//! (HTML above all) is `max-age=0, must-revalidate`, so the edge revalidates with the proxy's
//! strong ETag on every request, which costs a 304 without a body. A promote or rollback is
//! therefore visible through the CDN as soon as the proxy sees it (its alias TTL, 2 s), with
//! no invalidation at all: none of the 1,000 free invalidation paths a month is spent.
//!
//! A certificate waits for DNS validation (minutes on AWS): until it is issued the
//! distribution step reports `waiting`, and running setup again continues from there.

use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CachedMethods, CustomOriginConfig, DefaultCacheBehavior,
    DistributionConfig, Method, MinimumProtocolVersion, Origin, OriginProtocolPolicy, Origins,
    SslSupportMethod, ViewerCertificate, ViewerProtocolPolicy,
};
use aws_sdk_route53::types::{
    AliasTarget, Change as DnsChange, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet,
    RrType,
};

use crate::setup::record::Created;
use crate::setup::spec::{Action, Change, Clients, SetupSpec, aws_error, code_of};
use crate::setup::step::{Found, Step};
use pier_core::error::PierError;

/// The hosted zone id every CloudFront alias record targets (fixed by AWS).
pub const CLOUDFRONT_ZONE_ID: &str = "Z2FDTNDATAQYW2";
const ORIGIN_ID: &str = "pier-proxy";
/// The managed cache policy `UseOriginCacheControlHeaders-QueryStrings` (TTLs from the
/// origin's `Cache-Control`, 0 to a year; Host, query strings and cookies in the key).
pub const CACHE_POLICY_ID: &str = "4cc15a8a-d715-48a4-82b8-cc0b614638fe";
/// The managed origin request policy `AllViewer`: the viewer's headers, cookies and query.
pub const ORIGIN_REQUEST_POLICY_ID: &str = "216adef6-5c7f-47e4-b989-5492eafa07d3";
/// Every method CloudFront passes on; only GET and HEAD answers are cached.
const ALL_METHODS: [Method; 7] = [
    Method::Get,
    Method::Head,
    Method::Options,
    Method::Put,
    Method::Patch,
    Method::Post,
    Method::Delete,
];

fn comment(spec: &SetupSpec) -> String {
    format!("pier:{}", spec.name)
}

pub async fn ensure(step: &mut Step<'_>) -> Result<(), PierError> {
    let (clients, spec) = (step.clients, step.spec);
    let wildcard = format!("*.{}", spec.base_domain);
    let Some(zone) = find_zone(clients, &spec.base_domain).await? else {
        step.report(
            Change::new("dns zone", &spec.base_domain, Action::Waiting).with_detail(format!(
                "no Route53 hosted zone holds {}; create one (`aws route53 create-hosted-zone \
                 --name {} --caller-reference pier`) and delegate to its name servers, then run \
                 setup again",
                spec.base_domain, spec.base_domain
            )),
        );
        return Ok(());
    };
    step.out.hosted_zone_id = Some(zone.clone());
    step.report(Change::new("dns zone", &spec.base_domain, Action::Exists));

    // The certificate.
    let existing = find_certificate(clients, &wildcard).await?;
    let about = Change::about("certificate", &wildcard);
    let certificate = step
        .ensure(about, Found::from_option(existing), |_| async {
            let requested = clients
                .acm
                .request_certificate()
                .domain_name(&wildcard)
                .subject_alternative_names(&spec.base_domain)
                .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
                .idempotency_token(spec.name.replace('-', ""))
                .send()
                .await
                .map_err(|e| aws_error("RequestCertificate", e))?;
            let arn = requested.certificate_arn().unwrap_or_default().to_string();
            Ok((arn.clone(), Some(Created::Certificate { arn })))
        })
        .await?;
    step.out.certificate_arn = certificate.clone();
    let mut issued = false;
    if let Some(arn) = &certificate {
        let described = clients
            .acm
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(|e| aws_error("DescribeCertificate", e))?;
        let certificate = described.certificate();
        issued = certificate
            .and_then(|c| c.status())
            .is_some_and(|s| s.as_str() == "ISSUED");
        for option in certificate
            .map(|c| c.domain_validation_options())
            .unwrap_or_default()
        {
            if let Some(validation) = option.resource_record() {
                let set = ResourceRecordSet::builder()
                    .name(validation.name())
                    .r#type(RrType::Cname)
                    .ttl(300)
                    .resource_records(
                        ResourceRecord::builder()
                            .value(validation.value())
                            .build()
                            .map_err(invalid_request)?,
                    )
                    .build()
                    .map_err(invalid_request)?;
                ensure_record(step, "validation record", &zone, set).await?;
            }
        }
    }

    // The distribution: in front of this region's load balancer, or with several regions in
    // front of the origin name their latency records share (`regions`).
    let existing = find_distribution(clients, &comment(spec)).await?;
    let about = Change::about("distribution", &wildcard);
    let origin = if spec.other_regions.is_empty() {
        step.out.balancer_dns.clone()
    } else {
        Some(spec.origin_name())
    };
    let distribution = match (existing, &certificate, &origin) {
        (None, Some(certificate), Some(origin)) if issued => {
            step.ensure(about, Found::Missing, |_| async {
                let config = distribution_config(spec, origin, certificate)?;
                let created = clients
                    .cloudfront
                    .create_distribution()
                    .distribution_config(config)
                    .send()
                    .await
                    .map_err(|e| aws_error("CreateDistribution", e))?;
                let distribution = created
                    .distribution()
                    .map(|d| (d.id().to_string(), d.domain_name().to_string()))
                    .unwrap_or_default();
                let created = Created::Distribution {
                    id: distribution.0.clone(),
                };
                Ok((distribution, Some(created)))
            })
            .await?
        }
        (None, _, _) => {
            let why = if certificate.is_none() {
                "after the certificate is requested"
            } else if !issued {
                "the certificate waits for DNS validation (usually minutes); run setup again"
            } else {
                "after the load balancer exists"
            };
            let action = if step.mode.applies() {
                Action::Waiting
            } else {
                Action::Create
            };
            step.report(Change { action, ..about }.with_detail(why));
            None
        }
        (Some(found), _, Some(origin)) => {
            let current = read_config(clients, &found.0).await?.0;
            let differences = differences(&current, origin);
            let found_as = if differences.is_empty() {
                Found::AsWanted(found)
            } else {
                Found::Differs(found)
            };
            let about = if differences.is_empty() {
                about.with_detail(format!("origin {origin}"))
            } else {
                about.with_detail(differences.join("; "))
            };
            step.ensure(about, found_as, |current_id| async move {
                let found = current_id.expect("a distribution that differs was found");
                correct(clients, &found.0, origin).await?;
                Ok((found, None))
            })
            .await?
        }
        (Some(found), _, None) => {
            step.report(about);
            Some(found)
        }
    };
    if let Some((id, domain)) = &distribution {
        step.out.distribution_id = Some(id.clone());
        step.out.distribution_domain = Some(domain.clone());
        for kind in ["A", "AAAA"] {
            ensure_record(
                step,
                "dns record",
                &zone,
                alias_record(&wildcard, kind, domain)?,
            )
            .await?;
        }
    }
    Ok(())
}

/// The distribution's config and its ETag, for an update.
async fn read_config(
    clients: &Clients,
    id: &str,
) -> Result<(DistributionConfig, String), PierError> {
    let found = clients
        .cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .map_err(|e| aws_error("GetDistributionConfig", e))?;
    let etag = found.e_tag().unwrap_or_default().to_string();
    let config = found
        .distribution_config
        .ok_or_else(|| invalid_request("the distribution's config was not returned"))?;
    Ok((config, etag))
}

/// How a distribution differs from what setup makes: its origin (a region added or removed),
/// and a default behaviour from before functions (GET and HEAD only, no cookies forwarded).
fn differences(config: &DistributionConfig, origin: &str) -> Vec<String> {
    let mut differences = Vec::new();
    let current = config
        .origins()
        .and_then(|origins| origins.items().first())
        .map(|origin| origin.domain_name())
        .unwrap_or_default();
    if current != origin {
        differences.push(format!("origin {current} → {origin}"));
    }
    let behavior = config.default_cache_behavior();
    let methods = behavior
        .and_then(|b| b.allowed_methods())
        .map(|m| m.items().len())
        .unwrap_or_default();
    if methods != ALL_METHODS.len() {
        differences.push(format!(
            "{methods} methods allowed → all {} (functions take POST)",
            ALL_METHODS.len()
        ));
    }
    let policies = behavior.map(|b| (b.cache_policy_id(), b.origin_request_policy_id()));
    if policies != Some((Some(CACHE_POLICY_ID), Some(ORIGIN_REQUEST_POLICY_ID))) {
        differences.push(
            "cookies and headers not passed to the proxy → cache and origin request policies"
                .into(),
        );
    }
    differences
}

/// Points the distribution at `origin` with setup's default behaviour, keeping the rest of its
/// config (custom domains' aliases and certificate included) as it is.
async fn correct(clients: &Clients, id: &str, origin: &str) -> Result<(), PierError> {
    let (mut config, etag) = read_config(clients, id).await?;
    if let Some(origins) = config.origins.as_mut() {
        for each in origins.items.iter_mut() {
            each.domain_name = origin.to_string();
        }
    }
    config.default_cache_behavior = Some(default_behavior()?);
    clients
        .cloudfront
        .update_distribution()
        .id(id)
        .if_match(etag)
        .distribution_config(config)
        .send()
        .await
        .map_err(|e| aws_error("UpdateDistribution", e))?;
    Ok(())
}

/// A record set in the zone, found by name and type or made (and recorded).
async fn ensure_record(
    step: &mut Step<'_>,
    what: &str,
    zone: &str,
    set: ResourceRecordSet,
) -> Result<(), PierError> {
    let clients = step.clients;
    let (name, kind) = (set.name().to_string(), set.r#type().as_str().to_string());
    let present = find_record(clients, zone, &name, &kind, None)
        .await?
        .is_some();
    // Alias records are shown with their type, as `*.example.com A`.
    let shown = if set.alias_target().is_some() {
        format!("{name} {kind}")
    } else {
        name.clone()
    };
    let found = if present {
        Found::AsWanted(())
    } else {
        Found::Missing
    };
    step.ensure(Change::about(what, &shown), found, |_| async move {
        upsert(clients, zone, set).await?;
        let created = Created::RecordSet {
            zone: zone.to_string(),
            name,
            kind,
        };
        Ok(((), Some(created)))
    })
    .await?;
    Ok(())
}

/// The one behaviour: every method, the viewer's request whole to the proxy, cached by the
/// proxy's `Cache-Control` (see the module's doc).
fn default_behavior() -> Result<DefaultCacheBehavior, PierError> {
    let cached = [Method::Get, Method::Head];
    DefaultCacheBehavior::builder()
        .target_origin_id(ORIGIN_ID)
        .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
        .compress(true)
        .allowed_methods(
            AllowedMethods::builder()
                .quantity(ALL_METHODS.len() as i32)
                .set_items(Some(ALL_METHODS.to_vec()))
                .cached_methods(
                    CachedMethods::builder()
                        .quantity(cached.len() as i32)
                        .set_items(Some(cached.to_vec()))
                        .build()
                        .map_err(invalid_request)?,
                )
                .build()
                .map_err(invalid_request)?,
        )
        .cache_policy_id(CACHE_POLICY_ID)
        .origin_request_policy_id(ORIGIN_REQUEST_POLICY_ID)
        .build()
        .map_err(invalid_request)
}

fn distribution_config(
    spec: &SetupSpec,
    origin: &str,
    certificate: &str,
) -> Result<DistributionConfig, PierError> {
    let origin = Origin::builder()
        .id(ORIGIN_ID)
        .domain_name(origin)
        .custom_origin_config(
            CustomOriginConfig::builder()
                .http_port(80)
                .https_port(443)
                .origin_protocol_policy(OriginProtocolPolicy::HttpOnly)
                .build()
                .map_err(invalid_request)?,
        )
        .build()
        .map_err(invalid_request)?;
    let behavior = default_behavior()?;
    DistributionConfig::builder()
        .caller_reference(format!("pier-{}-{}", spec.name, spec.base_domain))
        .comment(comment(spec))
        .enabled(true)
        .http_version(aws_sdk_cloudfront::types::HttpVersion::Http2and3)
        .is_ipv6_enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .map_err(invalid_request)?,
        )
        .default_cache_behavior(behavior)
        .aliases(
            Aliases::builder()
                .quantity(1)
                .items(format!("*.{}", spec.base_domain))
                .build()
                .map_err(invalid_request)?,
        )
        .viewer_certificate(
            ViewerCertificate::builder()
                .acm_certificate_arn(certificate)
                .ssl_support_method(SslSupportMethod::SniOnly)
                .minimum_protocol_version(MinimumProtocolVersion::TlSv122021)
                .build(),
        )
        .build()
        .map_err(invalid_request)
}

fn alias_record(name: &str, kind: &str, target: &str) -> Result<ResourceRecordSet, PierError> {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(kind))
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id(CLOUDFRONT_ZONE_ID)
                .dns_name(target)
                .evaluate_target_health(false)
                .build()
                .map_err(invalid_request)?,
        )
        .build()
        .map_err(invalid_request)
}

/// A request the SDK's builder refused (a required field missing): a bug in Pier's step.
pub(crate) fn invalid_request(error: impl std::fmt::Display) -> PierError {
    PierError::BadSetup {
        detail: error.to_string(),
    }
}

/// The public hosted zone with the longest name that `domain` is in.
pub async fn find_zone(clients: &Clients, domain: &str) -> Result<Option<String>, PierError> {
    let zones = clients
        .route53
        .list_hosted_zones()
        .send()
        .await
        .map_err(|e| aws_error("ListHostedZones", e))?;
    let domain = format!("{}.", domain.trim_end_matches('.'));
    Ok(zones
        .hosted_zones()
        .iter()
        .filter(|zone| !zone.config().is_some_and(|c| c.private_zone()))
        .filter(|zone| domain == zone.name() || domain.ends_with(&format!(".{}", zone.name())))
        .max_by_key(|zone| zone.name().len())
        .map(|zone| zone.id().trim_start_matches("/hostedzone/").to_string()))
}

async fn find_certificate(clients: &Clients, domain: &str) -> Result<Option<String>, PierError> {
    let listed = clients
        .acm
        .list_certificates()
        .certificate_statuses(aws_sdk_acm::types::CertificateStatus::Issued)
        .certificate_statuses(aws_sdk_acm::types::CertificateStatus::PendingValidation)
        .send()
        .await
        .map_err(|e| aws_error("ListCertificates", e))?;
    Ok(listed
        .certificate_summary_list()
        .iter()
        .find(|c| c.domain_name() == Some(domain))
        .and_then(|c| c.certificate_arn())
        .map(str::to_string))
}

async fn find_distribution(
    clients: &Clients,
    comment: &str,
) -> Result<Option<(String, String)>, PierError> {
    let listed = clients
        .cloudfront
        .list_distributions()
        .send()
        .await
        .map_err(|e| aws_error("ListDistributions", e))?;
    Ok(listed.distribution_list().and_then(|list| {
        list.items()
            .iter()
            .find(|d| d.comment() == comment)
            .map(|d| (d.id().to_string(), d.domain_name().to_string()))
    }))
}

/// The record set named `name` of type `kind` in the zone, if there is one; with a set
/// identifier, that one of the name's several sets (a region's latency record). `Ok(None)`
/// also when the zone itself is gone (teardown after someone deleted it).
pub(crate) async fn find_record(
    clients: &Clients,
    zone: &str,
    name: &str,
    kind: &str,
    set_identifier: Option<&str>,
) -> Result<Option<ResourceRecordSet>, PierError> {
    let listed = match clients
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(name)
        .start_record_type(RrType::from(kind))
        // A plain record is the first listed; a name's weighted or latency sets follow it.
        .set_max_items(set_identifier.is_none().then_some(1))
        .send()
        .await
    {
        Ok(listed) => listed,
        Err(e) if code_of(&e) == "NoSuchHostedZone" => return Ok(None),
        Err(e) => return Err(aws_error("ListResourceRecordSets", e)),
    };
    let wanted = format!("{}.", name.trim_end_matches('.'));
    // Route53 returns `*` as the octal escape `\052`.
    Ok(listed
        .resource_record_sets()
        .iter()
        .find(|set| {
            set.name().replace("\\052", "*") == wanted
                && set.r#type().as_str() == kind
                && set_identifier.is_none_or(|id| set.set_identifier() == Some(id))
        })
        .cloned())
}

pub(crate) async fn upsert(
    clients: &Clients,
    zone: &str,
    set: ResourceRecordSet,
) -> Result<(), PierError> {
    change(clients, zone, ChangeAction::Upsert, set).await
}

async fn change(
    clients: &Clients,
    zone: &str,
    action: ChangeAction,
    set: ResourceRecordSet,
) -> Result<(), PierError> {
    let batch = ChangeBatch::builder()
        .changes(
            DnsChange::builder()
                .action(action)
                .resource_record_set(set)
                .build()
                .map_err(invalid_request)?,
        )
        .build()
        .map_err(invalid_request)?;
    clients
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| aws_error("ChangeResourceRecordSets", e))?;
    Ok(())
}

/// Deletes a record set (with a set identifier, that one of the name's sets) by reading it
/// back first: Route53 deletes need the exact set. Already gone counts as deleted.
pub async fn delete_record(
    clients: &Clients,
    zone: &str,
    name: &str,
    kind: &str,
    set_identifier: Option<&str>,
) -> Result<Option<String>, PierError> {
    if let Some(set) = find_record(clients, zone, name, kind, set_identifier).await? {
        change(clients, zone, ChangeAction::Delete, set).await?;
    }
    Ok(None)
}

/// Disables, then deletes, the distribution. On AWS disabling takes minutes; until the
/// distribution is deployed disabled, the teardown stops here and says to run it again.
pub async fn delete_distribution(clients: &Clients, id: &str) -> Result<Option<String>, PierError> {
    let cloudfront = &clients.cloudfront;
    let current = match cloudfront.get_distribution_config().id(id).send().await {
        Ok(current) => current,
        Err(e) if code_of(&e) == "NoSuchDistribution" => return Ok(None),
        Err(e) => return Err(aws_error("GetDistributionConfig", e)),
    };
    let mut etag = current.e_tag().unwrap_or_default().to_string();
    if let Some(config) = current.distribution_config()
        && config.enabled()
    {
        let mut disabled = config.clone();
        disabled.enabled = false;
        let updated = cloudfront
            .update_distribution()
            .id(id)
            .if_match(&etag)
            .distribution_config(disabled)
            .send()
            .await
            .map_err(|e| aws_error("UpdateDistribution", e))?;
        etag = updated.e_tag().unwrap_or_default().to_string();
    }
    match cloudfront
        .delete_distribution()
        .id(id)
        .if_match(&etag)
        .send()
        .await
    {
        Ok(_) => Ok(None),
        Err(e) if code_of(&e) == "NoSuchDistribution" => Ok(None),
        Err(e) if code_of(&e) == "DistributionNotDisabled" => Err(PierError::BadSetup {
            detail: format!(
                "the distribution {id} is still being disabled (CloudFront takes up to 15 \
                 minutes); run `pier teardown aws` again then"
            ),
        }),
        Err(e) => Err(aws_error("DeleteDistribution", e)),
    }
}
