//! Network: the default VPC and its subnets, two security groups, and the load balancer.
//! - `<name>-balancer` takes HTTP only from CloudFront, through AWS's managed prefix list
//!   `com.amazonaws.global.cloudfront.origin-facing`, so nobody reaches the origin around the
//!   CDN;
//! - `<name>-tasks` takes the proxy port and its health port only from the balancer group.
//!
//! The balancer is an internet-facing ALB with one listener (HTTP :80) forwarding to the
//! proxy's target group (IP targets on :8080, health checked on the admin port's `/health`).

use aws_sdk_ec2::types::{Filter, IpPermission, PrefixListId, UserIdGroupPair};
use aws_sdk_elasticloadbalancingv2::types::{
    Action as ListenerAction, ActionTypeEnum, LoadBalancerSchemeEnum, LoadBalancerTypeEnum,
    ProtocolEnum, TargetTypeEnum,
};

use crate::setup::record::Created;
use crate::setup::spec::{Action, Change, Clients, Mode, aws_error};
use crate::setup::step::{Found, Step};
use pier_core::error::PierError;

pub const PROXY_PORT: i32 = 8080;
pub const HEALTH_PORT: i32 = 9090;
const CLOUDFRONT_PREFIX_LIST: &str = "com.amazonaws.global.cloudfront.origin-facing";

pub async fn ensure(step: &mut Step<'_>) -> Result<(), PierError> {
    let (clients, spec, mode) = (step.clients, step.spec, step.mode);
    let ec2 = &clients.ec2;
    let vpcs = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await
        .map_err(|e| aws_error("DescribeVpcs", e))?;
    let Some(vpc) = vpcs
        .vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .map(str::to_string)
    else {
        return Err(PierError::BadSetup {
            detail: format!(
                "the region {} has no default VPC; create one with `aws ec2 create-default-vpc`",
                spec.region
            ),
        });
    };
    let subnets = ec2
        .describe_subnets()
        .filters(Filter::builder().name("vpc-id").values(&vpc).build())
        .send()
        .await
        .map_err(|e| aws_error("DescribeSubnets", e))?;
    let mut by_zone = std::collections::BTreeMap::new();
    for subnet in subnets.subnets() {
        if let (Some(zone), Some(id)) = (subnet.availability_zone(), subnet.subnet_id()) {
            by_zone
                .entry(zone.to_string())
                .or_insert_with(|| id.to_string());
        }
    }
    if by_zone.len() < 2 {
        return Err(PierError::BadSetup {
            detail: format!(
                "the default VPC {vpc} needs subnets in two availability zones for the load balancer"
            ),
        });
    }
    step.out.vpc_id = Some(vpc.clone());
    step.out.subnets = by_zone.into_values().collect();

    let prefix_lists = ec2
        .describe_managed_prefix_lists()
        .filters(
            Filter::builder()
                .name("prefix-list-name")
                .values(CLOUDFRONT_PREFIX_LIST)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_error("DescribeManagedPrefixLists", e))?;
    let cloudfront = prefix_lists
        .prefix_lists()
        .first()
        .and_then(|p| p.prefix_list_id())
        .map(str::to_string)
        .ok_or_else(|| PierError::BadSetup {
            detail: format!("the region {} has no CloudFront prefix list", spec.region),
        })?;

    let balancer_name = spec.resource("balancer");
    let from_cloudfront = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(80)
        .to_port(80)
        .prefix_list_ids(PrefixListId::builder().prefix_list_id(&cloudfront).build())
        .build();
    let balancer_group = group(
        step,
        &vpc,
        &balancer_name,
        "Pier load balancer: CloudFront only",
    )
    .await?;
    if let Some(id) = &balancer_group {
        allow(clients, id, from_cloudfront, mode).await?;
    }
    let tasks_name = spec.resource("tasks");
    let task_group = group(
        step,
        &vpc,
        &tasks_name,
        "Pier tasks: from the load balancer only",
    )
    .await?;
    if let (Some(tasks), Some(balancer)) = (&task_group, &balancer_group) {
        for port in [PROXY_PORT, HEALTH_PORT] {
            let from_balancer = IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(balancer).build())
                .build();
            allow(clients, tasks, from_balancer, mode).await?;
        }
    }
    step.out.balancer_group = balancer_group;
    step.out.task_group = task_group;
    Ok(())
}

async fn group(
    step: &mut Step<'_>,
    vpc: &str,
    name: &str,
    description: &str,
) -> Result<Option<String>, PierError> {
    let clients = step.clients;
    let found = clients
        .ec2
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values(name).build())
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .send()
        .await
        .map_err(|e| aws_error("DescribeSecurityGroups", e))?;
    let found = found
        .security_groups()
        .first()
        .and_then(|g| g.group_id())
        .map(str::to_string);
    let about = Change::about("security group", name);
    step.ensure(about, Found::from_option(found), |_| async {
        let created = clients
            .ec2
            .create_security_group()
            .group_name(name)
            .description(description)
            .vpc_id(vpc)
            .send()
            .await
            .map_err(|e| aws_error("CreateSecurityGroup", e))?;
        let id = created.group_id().unwrap_or_default().to_string();
        Ok((id.clone(), Some(Created::SecurityGroup { id })))
    })
    .await
}

/// Adds an ingress rule unless the group has it already.
async fn allow(
    clients: &Clients,
    group: &str,
    rule: IpPermission,
    mode: Mode,
) -> Result<(), PierError> {
    let current = clients
        .ec2
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .map_err(|e| aws_error("DescribeSecurityGroups", e))?;
    let present = current
        .security_groups()
        .first()
        .map(|g| {
            g.ip_permissions().iter().any(|p| {
                p.from_port() == rule.from_port()
                    && p.to_port() == rule.to_port()
                    && rule.prefix_list_ids().iter().all(|want| {
                        p.prefix_list_ids()
                            .iter()
                            .any(|have| have.prefix_list_id() == want.prefix_list_id())
                    })
                    && rule.user_id_group_pairs().iter().all(|want| {
                        p.user_id_group_pairs()
                            .iter()
                            .any(|have| have.group_id() == want.group_id())
                    })
            })
        })
        .unwrap_or(false);
    if present || !mode.applies() {
        return Ok(());
    }
    clients
        .ec2
        .authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(rule)
        .send()
        .await
        .map_err(|e| aws_error("AuthorizeSecurityGroupIngress", e))?;
    Ok(())
}

pub async fn ensure_balancer(step: &mut Step<'_>) -> Result<(), PierError> {
    let (clients, spec) = (step.clients, step.spec);
    let elb = &clients.elb;
    let name = spec.resource("");
    let found = elb.describe_load_balancers().names(&name).send().await;
    let existing = match found {
        Ok(output) => output.load_balancers().first().cloned(),
        Err(e) if crate::setup::spec::code_of(&e) == "LoadBalancerNotFound" => None,
        Err(e) => return Err(aws_error("DescribeLoadBalancers", e)),
    };
    let (subnets, security_group) = (step.out.subnets.clone(), step.out.balancer_group.clone());
    let about = Change::about("load balancer", &name);
    let balancer = step
        .ensure(about, Found::from_option(existing.map(Some)), |_| async {
            let created = elb
                .create_load_balancer()
                .name(&name)
                .r#type(LoadBalancerTypeEnum::Application)
                .scheme(LoadBalancerSchemeEnum::InternetFacing)
                .set_subnets(Some(subnets))
                .set_security_groups(security_group.map(|g| vec![g]))
                .send()
                .await
                .map_err(|e| aws_error("CreateLoadBalancer", e))?;
            let balancer = created.load_balancers().first().cloned();
            let created = balancer
                .as_ref()
                .and_then(|b| b.load_balancer_arn())
                .map(|arn| Created::LoadBalancer {
                    arn: arn.to_string(),
                });
            Ok((balancer, created))
        })
        .await?
        .flatten();
    step.out.balancer_arn = balancer
        .as_ref()
        .and_then(|b| b.load_balancer_arn())
        .map(str::to_string);
    step.out.balancer_dns = balancer
        .as_ref()
        .and_then(|b| b.dns_name())
        .map(str::to_string);
    step.out.balancer_zone_id = balancer
        .as_ref()
        .and_then(|b| b.canonical_hosted_zone_id())
        .map(str::to_string);

    let group_name = spec.resource("proxy");
    let found = elb.describe_target_groups().names(&group_name).send().await;
    let existing = match found {
        Ok(output) => output
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .map(str::to_string),
        Err(e) if crate::setup::spec::code_of(&e) == "TargetGroupNotFound" => None,
        Err(e) => return Err(aws_error("DescribeTargetGroups", e)),
    };
    let vpc = step.out.vpc_id.clone();
    let about = Change::about("target group", &group_name);
    let target_group = step
        .ensure(about, Found::from_option(existing), |_| async {
            let created = elb
                .create_target_group()
                .name(&group_name)
                .protocol(ProtocolEnum::Http)
                .port(PROXY_PORT)
                .target_type(TargetTypeEnum::Ip)
                .set_vpc_id(vpc)
                .health_check_port(HEALTH_PORT.to_string())
                .health_check_path("/health")
                .send()
                .await
                .map_err(|e| aws_error("CreateTargetGroup", e))?;
            let arn = created
                .target_groups()
                .first()
                .and_then(|g| g.target_group_arn())
                .unwrap_or_default()
                .to_string();
            Ok((arn.clone(), Some(Created::TargetGroup { arn })))
        })
        .await?;
    step.out.target_group_arn = target_group.clone();

    let listener = Change::about("listener", &format!("{name} :80"));
    let (Some(balancer), Some(group)) = (step.out.balancer_arn.clone(), target_group) else {
        // A plan before the balancer exists: the listener comes with it.
        step.report(Change {
            action: Action::Create,
            ..listener
        });
        return Ok(());
    };
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(&balancer)
        .send()
        .await
        .map_err(|e| aws_error("DescribeListeners", e))?;
    let has_http = listeners.listeners().iter().any(|l| l.port() == Some(80));
    let found = if has_http {
        Found::AsWanted(())
    } else {
        Found::Missing
    };
    step.ensure(listener, found, |_| async {
        // Deleted with the load balancer, so not recorded on its own.
        elb.create_listener()
            .load_balancer_arn(&balancer)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .default_actions(
                ListenerAction::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&group)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error("CreateListener", e))?;
        Ok(((), None))
    })
    .await?;
    Ok(())
}
