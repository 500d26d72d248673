//! The Route53 records the wizard owns: alias A and AAAA records from the custom domain to
//! the CloudFront distribution (Route53 alias targets for CloudFront always use the hosted
//! zone id Z2FDTNDATAQYW2), and the CNAME records ACM reads for DNS validation. Writes are
//! UPSERTs, so a re-run rewrites the same records; deletes send back exactly the record
//! read from the zone (RFC 2136 §2.5.4 semantics, as Route53 requires), and only for alias
//! records that point at this distribution.

use aws_sdk_route53::Client;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use super::{DomainError, aws_failure};
use crate::domain_wizard::zone::Zone;

/// Route53's hosted zone id for every CloudFront distribution's alias target.
pub const CLOUDFRONT_HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// TTL of the validation CNAMEs; ACM re-reads them at every renewal.
const VALIDATION_TTL: i64 = 300;

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

fn alias_record(host: &str, kind: RrType, target: &str) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(fqdn(host))
        .r#type(kind)
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id(CLOUDFRONT_HOSTED_ZONE_ID)
                .dns_name(fqdn(target))
                .evaluate_target_health(false)
                .build()
                .expect("all fields are set"),
        )
        .build()
        .expect("name and type are set")
}

async fn change(
    route53: &Client,
    zone: &Zone,
    changes: Vec<(ChangeAction, ResourceRecordSet)>,
) -> Result<(), DomainError> {
    if changes.is_empty() {
        return Ok(());
    }
    let batch = ChangeBatch::builder()
        .comment("pier domains")
        .set_changes(Some(
            changes
                .into_iter()
                .map(|(action, record)| {
                    Change::builder()
                        .action(action)
                        .resource_record_set(record)
                        .build()
                        .expect("action and record are set")
                })
                .collect(),
        ))
        .build()
        .expect("changes are set");
    route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone.id)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| aws_failure("Route53", "ChangeResourceRecordSets", e))?;
    Ok(())
}

/// The record set of `kind` at `host` in the zone, if there is one.
pub async fn read(
    route53: &Client,
    zone: &Zone,
    host: &str,
    kind: RrType,
) -> Result<Option<ResourceRecordSet>, DomainError> {
    let page = route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone.id)
        .start_record_name(fqdn(host))
        .start_record_type(kind.clone())
        .max_items(1)
        .send()
        .await
        .map_err(|e| aws_failure("Route53", "ListResourceRecordSets", e))?;
    Ok(page
        .resource_record_sets()
        .iter()
        .find(|record| {
            record
                .name()
                .trim_end_matches('.')
                .eq_ignore_ascii_case(host.trim_end_matches('.'))
                && *record.r#type() == kind
        })
        .cloned())
}

/// Whether a record set is an alias to `target` (the distribution's domain name).
pub fn aliases_to(record: &ResourceRecordSet, target: &str) -> bool {
    record.alias_target().is_some_and(|alias| {
        alias.hosted_zone_id() == CLOUDFRONT_HOSTED_ZONE_ID
            && alias
                .dns_name()
                .trim_end_matches('.')
                .eq_ignore_ascii_case(target.trim_end_matches('.'))
    })
}

/// Which of A and AAAA at `host` do not yet alias the distribution.
pub async fn missing_aliases(
    route53: &Client,
    zone: &Zone,
    host: &str,
    target: &str,
) -> Result<Vec<RrType>, DomainError> {
    let mut missing = Vec::new();
    for kind in [RrType::A, RrType::Aaaa] {
        let record = read(route53, zone, host, kind.clone()).await?;
        if !record.is_some_and(|record| aliases_to(&record, target)) {
            missing.push(kind);
        }
    }
    Ok(missing)
}

/// UPSERTs alias A and AAAA records at `host` to the distribution. Returns whether anything
/// changed.
pub async fn upsert_aliases(
    route53: &Client,
    zone: &Zone,
    host: &str,
    target: &str,
) -> Result<bool, DomainError> {
    let missing = missing_aliases(route53, zone, host, target).await?;
    let changes: Vec<_> = missing
        .into_iter()
        .map(|kind| (ChangeAction::Upsert, alias_record(host, kind, target)))
        .collect();
    let changed = !changes.is_empty();
    change(route53, zone, changes).await?;
    Ok(changed)
}

/// Deletes the A and AAAA records at `host` that alias this distribution; records pointing
/// anywhere else are left alone. Returns how many were deleted.
pub async fn delete_aliases(
    route53: &Client,
    zone: &Zone,
    host: &str,
    target: &str,
) -> Result<usize, DomainError> {
    let mut changes = Vec::new();
    for kind in [RrType::A, RrType::Aaaa] {
        if let Some(record) = read(route53, zone, host, kind).await?
            && aliases_to(&record, target)
        {
            changes.push((ChangeAction::Delete, record));
        }
    }
    let count = changes.len();
    change(route53, zone, changes).await?;
    Ok(count)
}

/// Whether the zone holds the validation CNAME `name` → `value`.
pub async fn has_cname(
    route53: &Client,
    zone: &Zone,
    name: &str,
    value: &str,
) -> Result<bool, DomainError> {
    Ok(read(route53, zone, name, RrType::Cname)
        .await?
        .is_some_and(|record| {
            record.resource_records().iter().any(|answer| {
                answer
                    .value()
                    .trim_end_matches('.')
                    .eq_ignore_ascii_case(value.trim_end_matches('.'))
            })
        }))
}

/// UPSERTs the validation CNAMEs that are not in the zone yet. Returns how many were written.
pub async fn upsert_validation(
    route53: &Client,
    zone: &Zone,
    records: &[(String, String)],
) -> Result<usize, DomainError> {
    let mut changes = Vec::new();
    for (name, value) in records {
        if has_cname(route53, zone, name, value).await? {
            continue;
        }
        let record = ResourceRecordSet::builder()
            .name(fqdn(name))
            .r#type(RrType::Cname)
            .ttl(VALIDATION_TTL)
            .resource_records(
                ResourceRecord::builder()
                    .value(fqdn(value))
                    .build()
                    .expect("value is set"),
            )
            .build()
            .expect("name and type are set");
        changes.push((ChangeAction::Upsert, record));
    }
    let count = changes.len();
    change(route53, zone, changes).await?;
    Ok(count)
}
