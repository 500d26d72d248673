//! `pier setup aws --regions us-east-1,eu-west-1,…`: the first region is the primary and gets
//! everything; each other region gets what serves sites (its own bucket `<bucket>-<region>`,
//! network, load balancer, proxy tasks with auto-scaling, log group, functions' settings), and
//! its own setup record, which names the primary it serves for.
//!
//! Routing: one Route53 latency record per region for the origin name (`origin.<base
//! domain>`), an alias to that region's load balancer with `EvaluateTargetHealth`, so Route53
//! answers with the nearest region whose load balancer has healthy proxy tasks; CloudFront uses
//! the origin name as its origin (see ARCHITECTURE.md, "Regions", for why alias health
//! rather than separate HTTP health checks, and no origin group).
//!
//! Run again with a region added, only that region is made (and its record added); with a
//! region removed, exactly what its record names is torn down, and its latency record goes.

use std::path::{Path, PathBuf};

use aws_sdk_route53::types::{AliasTarget, ResourceRecordSet, ResourceRecordSetRegion, RrType};

use crate::setup::cdn::{delete_record, find_record, invalid_request, upsert};
use crate::setup::record::{Created, SetupRecord};
use crate::setup::spec::{Action, Change, Clients, Mode, Outputs, Report, SetupSpec};
use crate::setup::step::{Found, Step};
use pier_core::error::PierError;

/// What one region's run did.
#[derive(Debug, Clone)]
pub struct RegionRun {
    pub region: String,
    pub report: Report,
}

/// Where the AWS calls go: a named profile, and an endpoint (an emulator) for every service.
#[derive(Debug, Clone, Copy, Default)]
pub struct Connection<'a> {
    pub profile: Option<&'a str>,
    pub endpoint: Option<&'a str>,
}

impl Connection<'_> {
    pub async fn clients(&self, region: &str) -> Clients {
        Clients::connect_as(self.profile, region, self.endpoint).await
    }
}

/// A region's setup record in `folder`.
pub fn record_path(folder: &Path, name: &str, region: &str) -> PathBuf {
    folder.join(format!("aws-{name}-{region}.json"))
}

/// Runs setup in the primary region, then in each other region, then the routing; removes the
/// regions an earlier run made that `spec.other_regions` no longer names. The primary's run
/// comes first in the result.
pub async fn run(
    connection: Connection<'_>,
    spec: &SetupSpec,
    mode: Mode,
    records: &Path,
    on_change: &mut (dyn FnMut(&Change) + Send),
) -> Result<Vec<RegionRun>, PierError> {
    let primary_clients = connection.clients(&spec.region).await;
    let mut primary_record = SetupRecord::open(
        &record_path(records, &spec.name, &spec.region),
        &spec.name,
        &spec.region,
    )?;
    let mut primary =
        crate::setup::run_reporting(&primary_clients, spec, mode, &mut primary_record, on_change)
            .await?;
    if mode.applies() {
        primary_record.outputs = primary.outputs.clone();
        primary_record.save()?;
    }
    let mut runs = Vec::new();
    for region in &spec.other_regions {
        let clients = connection.clients(region).await;
        let path = record_path(records, &spec.name, region);
        let mut record = SetupRecord::open(&path, &spec.name, region)?;
        record.primary = Some(spec.region.clone());
        let regional = spec.for_region(region);
        let mut tagged = |change: &Change| on_change(&change.clone().in_region(region));
        let mut report =
            crate::setup::run_reporting(&clients, &regional, mode, &mut record, &mut tagged)
                .await?;
        for change in &mut report.changes {
            change.region = Some(region.clone());
        }
        if mode.applies() {
            record.outputs = report.outputs.clone();
            record.save()?;
        }
        runs.push(RegionRun {
            region: region.clone(),
            report,
        });
    }

    let balancers: Vec<(String, Outputs)> =
        std::iter::once((spec.region.clone(), primary.outputs.clone()))
            .chain(
                runs.iter()
                    .map(|run| (run.region.clone(), run.report.outputs.clone())),
            )
            .collect();
    let mut outputs = primary.outputs.clone();
    let mut step = Step::new(
        &primary_clients,
        spec,
        mode,
        &mut primary_record,
        &mut outputs,
        on_change,
    );
    route(&mut step, &balancers).await?;
    primary.changes.extend(step.into_changes());
    let removed = remove_regions(connection, spec, mode, records, on_change).await?;
    primary.changes.extend(removed);

    let mut all = vec![RegionRun {
        region: spec.region.clone(),
        report: primary,
    }];
    all.extend(runs);
    Ok(all)
}

/// One latency record per serving region (none with a single region), each found by its set
/// identifier or made; a recorded one whose region left the list is deleted.
async fn route(step: &mut Step<'_>, balancers: &[(String, Outputs)]) -> Result<(), PierError> {
    let (clients, spec) = (step.clients, step.spec);
    let Some(zone) = step.out.hosted_zone_id.clone() else {
        return Ok(()); // the CDN step already said what to create first
    };
    let name = spec.origin_name();
    let serving: Vec<&str> = if spec.other_regions.is_empty() {
        Vec::new()
    } else {
        balancers
            .iter()
            .map(|(region, _)| region.as_str())
            .collect()
    };
    for (region, outputs) in balancers
        .iter()
        .filter(|(r, _)| serving.contains(&r.as_str()))
    {
        let about = Change::about("latency record", &format!("{name} A ({region})"));
        let (Some(dns), Some(balancer_zone)) = (&outputs.balancer_dns, &outputs.balancer_zone_id)
        else {
            let action = if step.mode.applies() {
                Action::Waiting
            } else {
                Action::Create
            };
            step.report(
                Change { action, ..about }.with_detail("after the region's load balancer exists"),
            );
            continue;
        };
        let wanted = latency_record(&name, region, dns, balancer_zone)?;
        let found = match find_record(clients, &zone, &name, "A", Some(region)).await? {
            None => Found::Missing,
            Some(set) if set.alias_target() == wanted.alias_target() => Found::AsWanted(()),
            Some(_) => Found::Differs(()),
        };
        let (zone, name, region) = (zone.clone(), name.clone(), region.clone());
        step.ensure(
            about.with_detail(format!("→ {dns}")),
            found,
            |_| async move {
                upsert(clients, &zone, wanted).await?;
                let created = Created::LatencyRecord {
                    zone,
                    name,
                    kind: "A".into(),
                    set_identifier: region,
                };
                Ok(((), Some(created)))
            },
        )
        .await?;
    }
    Ok(())
}

fn latency_record(
    name: &str,
    region: &str,
    balancer_dns: &str,
    balancer_zone: &str,
) -> Result<ResourceRecordSet, PierError> {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::A)
        .set_identifier(region)
        .region(ResourceRecordSetRegion::from(region))
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id(balancer_zone)
                .dns_name(balancer_dns)
                // Route53 answers with this region only while its load balancer has healthy
                // targets: the proxies' own ECS health checks decide.
                .evaluate_target_health(true)
                .build()
                .map_err(invalid_request)?,
        )
        .build()
        .map_err(invalid_request)
}

/// The other regions' records in `records` that serve `primary` for setup `name`.
fn regional_records(
    records: &Path,
    name: &str,
    primary: &str,
) -> Result<Vec<SetupRecord>, PierError> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(records) else {
        return Ok(found);
    };
    let prefix = format!("aws-{name}-");
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(region) = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".json"))
        else {
            continue;
        };
        let record = SetupRecord::open(&entry.path(), name, region)?;
        if record.primary.as_deref() == Some(primary) && record.region == region {
            found.push(record);
        }
    }
    found.sort_by(|a, b| a.region.cmp(&b.region));
    Ok(found)
}

/// Tears down each region an earlier run made for this primary that the spec no longer
/// names, and drops the primary's latency records of regions no longer served.
async fn remove_regions(
    connection: Connection<'_>,
    spec: &SetupSpec,
    mode: Mode,
    records: &Path,
    on_change: &mut (dyn FnMut(&Change) + Send),
) -> Result<Vec<Change>, PierError> {
    let mut changes = Vec::new();
    let mut report = |change: Change, changes: &mut Vec<Change>| {
        on_change(&change);
        changes.push(change);
    };
    for mut record in regional_records(records, &spec.name, &spec.region)? {
        if spec.other_regions.contains(&record.region) || record.created.is_empty() {
            continue;
        }
        let region = record.region.clone();
        if !mode.applies() {
            let detail = format!("its {} resources would be torn down", record.created.len());
            report(
                Change::new("region", &region, Action::Update).with_detail(detail),
                &mut changes,
            );
            continue;
        }
        let clients = connection.clients(&region).await;
        for change in crate::setup::teardown(&clients, &mut record).await? {
            report(change.in_region(&region), &mut changes);
        }
        report(
            Change::new("region", &region, Action::Update).with_detail("removed"),
            &mut changes,
        );
    }
    // The primary's latency records of regions no longer served (all of them when one region
    // is left): deleted and struck from its record.
    let path = record_path(records, &spec.name, &spec.region);
    let mut primary = SetupRecord::open(&path, &spec.name, &spec.region)?;
    let served: Vec<&String> = if spec.other_regions.is_empty() {
        Vec::new()
    } else {
        std::iter::once(&spec.region)
            .chain(&spec.other_regions)
            .collect()
    };
    let stale: Vec<Created> = primary
        .created
        .iter()
        .filter(|created| {
            matches!(created, Created::LatencyRecord { set_identifier, .. }
                if !served.contains(&set_identifier))
        })
        .cloned()
        .collect();
    if stale.is_empty() {
        return Ok(changes);
    }
    let clients = connection.clients(&spec.region).await;
    for created in stale {
        let Created::LatencyRecord {
            zone,
            name,
            kind,
            set_identifier,
        } = &created
        else {
            continue;
        };
        let (what, shown) = created.describe();
        if mode.applies() {
            delete_record(&clients, zone, name, kind, Some(set_identifier)).await?;
            primary.created.retain(|kept| *kept != created);
            primary.save()?;
            report(
                Change::new(what, &shown, Action::Update).with_detail("deleted"),
                &mut changes,
            );
        } else {
            report(
                Change::new(what, &shown, Action::Update).with_detail("would be deleted"),
                &mut changes,
            );
        }
    }
    Ok(changes)
}

/// `pier teardown aws` with regions: every region that serves for `primary`, each from its
/// own record, before the caller tears the primary down.
pub async fn teardown_others(
    connection: Connection<'_>,
    name: &str,
    primary: &str,
    records: &Path,
) -> Result<Vec<Change>, PierError> {
    let mut changes = Vec::new();
    for mut record in regional_records(records, name, primary)? {
        let clients = connection.clients(&record.region).await;
        let region = record.region.clone();
        let torn = crate::setup::teardown(&clients, &mut record).await?;
        changes.extend(torn.into_iter().map(|change| change.in_region(&region)));
    }
    Ok(changes)
}
