//! ECS: the cluster, the two task definitions, and the two services.
//! - `<name>-builder` runs `pier-builder worker` (the service takes jobs from the build queue);
//!   a one-off ECS build runs the same definition with the command overridden to `run`.
//! - `<name>-proxy` runs the edge proxy on :8080 with its health port on :9090, behind the
//!   load balancer, on a read-only root file system, with ECS's health check running the
//!   binary's own `pier-proxy health` (its image has no shell).
//!
//! Both run as the images' non-root users; the builders get the Redis URL from Secrets
//! Manager (`secrets`), never as plain environment.
//!
//! A definition is registered again only when what Pier sets (image, command, environment,
//! size, roles) differs from the latest revision, so a re-run changes nothing.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, CpuArchitecture,
    HealthCheck, KeyValuePair, LaunchType, LoadBalancer, LogConfiguration, LogDriver,
    NetworkConfiguration, NetworkMode, OsFamily, PortMapping, RuntimePlatform, Secret,
    TransportProtocol,
};

use crate::setup::network::{HEALTH_PORT, PROXY_PORT};
use crate::setup::record::Created;
use crate::setup::spec::{Change, Outputs, SetupSpec, aws_error, code_of};
use crate::setup::step::{Found, Made, Step};
use pier_core::error::PierError;

pub const BUILDER_CONTAINER: &str = "builder";
pub const PROXY_CONTAINER: &str = "proxy";

/// The images' own non-root users (`proxy/Dockerfile`: distroless's `nonroot`;
/// `backend/builder/Dockerfile`: `pier`), stated again so ECS never runs either as root even
/// with another image.
pub const PROXY_USER: &str = "65532:65532";
pub const BUILDER_USER: &str = "10001:10001";

/// ECS's health check for the proxy: the binary asks its own admin listener.
pub const PROXY_HEALTH_CHECK: [&str; 3] = ["CMD", "/usr/local/bin/pier-proxy", "health"];

struct TaskShape {
    family: String,
    container: &'static str,
    image: String,
    command: Vec<String>,
    environment: Vec<(String, String)>,
    cpu: &'static str,
    memory: i32,
    ports: Vec<i32>,
    user: &'static str,
    /// ECS's `healthCheck.command`, when the container has one.
    health_check: Option<Vec<String>>,
    read_only_root: bool,
    /// `(variable, secret ARN)`: resolved by ECS at task start with the execution role.
    secrets: Vec<(String, String)>,
    task_role: Option<String>,
    /// `awslogs` options: the group, the region, and the container's name as stream prefix.
    log_options: Option<Vec<(String, String)>>,
    /// ECS's `runtimePlatform.cpuArchitecture`: `X86_64` or `ARM64`.
    cpu_architecture: String,
}

fn log_options(out: &Outputs, spec: &SetupSpec, container: &str) -> Option<Vec<(String, String)>> {
    let group = out.log_group.clone()?;
    let mut options = vec![
        ("awslogs-group".to_string(), group),
        ("awslogs-region".to_string(), spec.region.clone()),
        ("awslogs-stream-prefix".to_string(), container.to_string()),
    ];
    options.sort();
    Some(options)
}

pub async fn ensure_cluster_and_tasks(step: &mut Step<'_>) -> Result<(), PierError> {
    let (clients, spec) = (step.clients, step.spec);
    let ecs = &clients.ecs;
    let cluster = spec.resource("");
    let found = ecs
        .describe_clusters()
        .clusters(&cluster)
        .send()
        .await
        .map_err(|e| aws_error("DescribeClusters", e))?;
    let active = found
        .clusters()
        .iter()
        .find(|c| c.status() == Some("ACTIVE"))
        .and_then(|c| c.cluster_arn())
        .map(str::to_string);
    let about = Change::about("ecs cluster", &cluster);
    step.out.cluster_arn = step
        .ensure(about, Found::from_option(active), |_| async {
            let created = ecs
                .create_cluster()
                .cluster_name(&cluster)
                .capacity_providers("FARGATE")
                .capacity_providers("FARGATE_SPOT")
                .send()
                .await
                .map_err(|e| aws_error("CreateCluster", e))?;
            let arn = created
                .cluster()
                .and_then(|c| c.cluster_arn())
                .unwrap_or_default()
                .to_string();
            Ok((
                arn,
                Some(Created::Cluster {
                    name: cluster.clone(),
                }),
            ))
        })
        .await?;

    let out = &*step.out;
    let store = format!("s3://{}", spec.bucket);
    let builder = TaskShape {
        family: spec.resource("builder"),
        container: BUILDER_CONTAINER,
        image: out
            .builder_image
            .clone()
            .unwrap_or_else(|| spec.builder_image.clone()),
        command: vec!["worker".into()],
        environment: vec![
            ("PIER_STORE".into(), store.clone()),
            (
                "PIER_BUILD_QUEUE".into(),
                out.queue_url.clone().unwrap_or_default(),
            ),
            ("AWS_REGION".into(), spec.region.clone()),
            (
                "PIER_BUILD_VISIBILITY_SECS".into(),
                spec.job_visibility_secs.to_string(),
            ),
            (
                "PIER_BUILD_MAX_ATTEMPTS".into(),
                crate::setup::work_queue::MAX_RECEIVES.to_string(),
            ),
        ]
        .into_iter()
        .chain(builder_regions(spec))
        .collect(),
        cpu: "1024",
        memory: 2048,
        ports: Vec::new(),
        user: BUILDER_USER,
        health_check: None,
        read_only_root: false,
        secrets: out
            .redis_secret_arn
            .iter()
            .map(|arn| {
                (
                    crate::setup::secrets::REDIS_URL_VARIABLE.to_string(),
                    arn.clone(),
                )
            })
            .collect(),
        task_role: out.builder_role_arn.clone(),
        log_options: log_options(out, spec, BUILDER_CONTAINER),
        cpu_architecture: spec.cpu_architecture.clone(),
    };
    let proxy = TaskShape {
        family: spec.resource("proxy"),
        container: PROXY_CONTAINER,
        image: out
            .proxy_image
            .clone()
            .unwrap_or_else(|| spec.proxy_image.clone()),
        command: Vec::new(),
        environment: vec![
            ("PIER_STORE".into(), store),
            ("PIER_BASE_DOMAIN".into(), spec.base_domain.clone()),
            ("PIER_ADMIN_LISTEN".into(), format!("0.0.0.0:{HEALTH_PORT}")),
            ("AWS_REGION".into(), spec.region.clone()),
            // Functions run as the Lambda versions deploys publish (setup's `functions` step).
            ("PIER_FUNCTIONS_LAMBDA".into(), "true".into()),
        ],
        cpu: "512",
        memory: 1024,
        ports: vec![PROXY_PORT, HEALTH_PORT],
        user: PROXY_USER,
        health_check: Some(PROXY_HEALTH_CHECK.iter().map(|s| s.to_string()).collect()),
        read_only_root: true,
        secrets: Vec::new(),
        task_role: out.proxy_role_arn.clone(),
        log_options: log_options(out, spec, PROXY_CONTAINER),
        cpu_architecture: spec.cpu_architecture.clone(),
    };
    let execution_role = out.execution_role_arn.clone();
    if !spec.serving_only {
        step.out.builder_task_definition = task_definition(step, &builder, &execution_role).await?;
    }
    step.out.proxy_task_definition = task_definition(step, &proxy, &execution_role).await?;
    Ok(())
}

/// With other regions, the builders land each build in all of them: the primary's name and
/// every other region's store (nothing is added with one region, so its task definition is as
/// before).
fn builder_regions(spec: &SetupSpec) -> Vec<(String, String)> {
    if spec.other_regions.is_empty() {
        return Vec::new();
    }
    let others: Vec<String> = spec
        .other_region_stores()
        .into_iter()
        .map(|(name, store)| format!("{name}={store}"))
        .collect();
    vec![
        ("PIER_REGION".into(), spec.region.clone()),
        ("PIER_REGIONS".into(), others.join(",")),
    ]
}

/// The family's latest revision when it is as `shape` says, else a new revision.
async fn task_definition(
    step: &mut Step<'_>,
    shape: &TaskShape,
    execution_role: &Option<String>,
) -> Result<Option<String>, PierError> {
    let clients = step.clients;
    let ecs = &clients.ecs;
    let latest = match ecs
        .describe_task_definition()
        .task_definition(&shape.family)
        .send()
        .await
    {
        Ok(output) => output.task_definition().cloned(),
        Err(e) if code_of(&e).contains("Client") => None,
        Err(e) => return Err(aws_error("DescribeTaskDefinition", e)),
    };
    let same = latest.as_ref().is_some_and(|definition| {
        let container = definition.container_definitions().first();
        let mut environment: Vec<(String, String)> = container
            .map(|c| {
                c.environment()
                    .iter()
                    .map(|kv| {
                        (
                            kv.name().unwrap_or_default().to_string(),
                            kv.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        environment.sort();
        let mut wanted = shape.environment.clone();
        wanted.sort();
        let logging = container.and_then(|c| c.log_configuration()).map(|l| {
            let mut options: Vec<(String, String)> = l
                .options()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            options.sort();
            options
        });
        let mut secrets: Vec<(String, String)> = container
            .map(|c| {
                c.secrets()
                    .iter()
                    .map(|s| (s.name().to_string(), s.value_from().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        secrets.sort();
        let health_check = container
            .and_then(|c| c.health_check())
            .map(|h| h.command().to_vec());
        definition.status().map(|s| s.as_str()) == Some("ACTIVE")
            && logging == shape.log_options
            && container.and_then(|c| c.user()) == Some(shape.user)
            && health_check == shape.health_check
            && container
                .and_then(|c| c.readonly_root_filesystem())
                .unwrap_or(false)
                == shape.read_only_root
            && secrets == shape.secrets
            && container.and_then(|c| c.image()) == Some(shape.image.as_str())
            && container.map(|c| c.command().to_vec()).unwrap_or_default() == shape.command
            && environment == wanted
            && definition.cpu() == Some(shape.cpu)
            && definition
                .runtime_platform()
                .and_then(|p| p.cpu_architecture())
                .map_or(crate::setup::spec::DEFAULT_CPU_ARCHITECTURE, |a| a.as_str())
                == shape.cpu_architecture
            && definition.task_role_arn() == shape.task_role.as_deref()
            && definition.execution_role_arn() == execution_role.as_deref()
    });
    let latest_arn = latest
        .as_ref()
        .map(|d| d.task_definition_arn().unwrap_or_default().to_string());
    let found = match latest_arn {
        Some(arn) if same => Found::AsWanted(arn),
        Some(arn) => Found::Differs(arn),
        None => Found::Missing,
    };
    let about = Change::about("task definition", &shape.family);
    step.ensure(about, found, |_| register(ecs, shape, execution_role))
        .await
}

/// Registers a new revision of the family (its first, or a correction): each revision is
/// recorded, so teardown deregisters them all.
async fn register(
    ecs: &aws_sdk_ecs::Client,
    shape: &TaskShape,
    execution_role: &Option<String>,
) -> Result<Made<String>, PierError> {
    let container = ContainerDefinition::builder()
        .name(shape.container)
        .image(&shape.image)
        .essential(true)
        // ECS accepts Fargate tasks without it, but some emulators do not.
        .memory(shape.memory)
        .user(shape.user)
        .readonly_root_filesystem(shape.read_only_root)
        .set_health_check(shape.health_check.as_ref().map(|command| {
            HealthCheck::builder()
                .set_command(Some(command.clone()))
                .interval(30)
                .timeout(5)
                .retries(3)
                .start_period(10)
                .build()
                .expect("the command is set")
        }))
        .set_secrets((!shape.secrets.is_empty()).then(|| {
            shape
                .secrets
                .iter()
                .map(|(name, arn)| {
                    Secret::builder()
                        .name(name)
                        .value_from(arn)
                        .build()
                        .expect("name and valueFrom are set")
                })
                .collect()
        }))
        .set_command((!shape.command.is_empty()).then(|| shape.command.clone()))
        .set_environment(Some(
            shape
                .environment
                .iter()
                .map(|(name, value)| KeyValuePair::builder().name(name).value(value).build())
                .collect(),
        ))
        .set_log_configuration(shape.log_options.as_ref().map(|options| {
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .set_options(Some(options.iter().cloned().collect()))
                .build()
                .expect("the log driver is set")
        }))
        .set_port_mappings(Some(
            shape
                .ports
                .iter()
                .map(|port| {
                    PortMapping::builder()
                        .container_port(*port)
                        .protocol(TransportProtocol::Tcp)
                        .build()
                })
                .collect(),
        ))
        .build();
    let registered = ecs
        .register_task_definition()
        .family(&shape.family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu(shape.cpu)
        .memory(shape.memory.to_string())
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(CpuArchitecture::from(shape.cpu_architecture.as_str()))
                .operating_system_family(OsFamily::Linux)
                .build(),
        )
        .set_execution_role_arn(execution_role.clone())
        .set_task_role_arn(shape.task_role.clone())
        .container_definitions(container)
        .send()
        .await
        .map_err(|e| aws_error("RegisterTaskDefinition", e))?;
    let arn = registered
        .task_definition()
        .and_then(|d| d.task_definition_arn())
        .unwrap_or_default()
        .to_string();
    Ok((arn.clone(), Some(Created::TaskDefinition { arn })))
}

pub async fn ensure_services(step: &mut Step<'_>) -> Result<(), PierError> {
    let spec = step.spec;
    let proxy_balancer = step.out.target_group_arn.clone().map(|group| {
        LoadBalancer::builder()
            .target_group_arn(group)
            .container_name(PROXY_CONTAINER)
            .container_port(PROXY_PORT)
            .build()
    });
    for (name, definition, desired, balancer) in [
        (
            spec.resource("proxy"),
            step.out.proxy_task_definition.clone(),
            spec.proxy_tasks.min.max(1),
            proxy_balancer,
        ),
        (
            spec.resource("builders"),
            step.out.builder_task_definition.clone(),
            spec.builder_tasks.min,
            None,
        ),
    ] {
        if spec.serving_only && name != spec.resource("proxy") {
            continue; // the builders: the primary region's only
        }
        service(step, &name, definition, desired, balancer).await?;
    }
    Ok(())
}

/// The service, created on the task definition, or moved to it when it runs another.
async fn service(
    step: &mut Step<'_>,
    name: &str,
    definition: Option<String>,
    desired: u32,
    balancer: Option<LoadBalancer>,
) -> Result<(), PierError> {
    let (clients, spec) = (step.clients, step.spec);
    let ecs = &clients.ecs;
    let cluster = spec.resource("");
    let existing = if step.out.cluster_arn.is_some() {
        ecs.describe_services()
            .cluster(&cluster)
            .services(name)
            .send()
            .await
            .map_err(|e| aws_error("DescribeServices", e))?
            .services()
            .iter()
            .find(|s| s.status() == Some("ACTIVE"))
            .cloned()
    } else {
        None
    };
    let about = Change::about("ecs service", name);
    let (found, about) = match existing {
        None => (Found::Missing, about),
        Some(existing) if existing.task_definition() == definition.as_deref() => {
            (Found::AsWanted(()), about)
        }
        Some(_) => (Found::Differs(()), about.with_detail("new task definition")),
    };
    let (subnets, task_group) = (step.out.subnets.clone(), step.out.task_group.clone());
    step.ensure(about, found, |existing| async move {
        if existing.is_some() {
            ecs.update_service()
                .cluster(&cluster)
                .service(name)
                .set_task_definition(definition)
                .send()
                .await
                .map_err(|e| aws_error("UpdateService", e))?;
            return Ok(((), None));
        }
        let network = AwsVpcConfiguration::builder()
            .set_subnets(Some(subnets))
            .set_security_groups(task_group.map(|g| vec![g]))
            // Default-VPC subnets are public: tasks reach S3, SQS and npm through a public IP.
            .assign_public_ip(AssignPublicIp::Enabled)
            .build()
            .map_err(|e| PierError::BadSetup {
                detail: e.to_string(),
            })?;
        ecs.create_service()
            .cluster(&cluster)
            .service_name(name)
            .set_task_definition(definition)
            .desired_count(desired as i32)
            .launch_type(LaunchType::Fargate)
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(network)
                    .build(),
            )
            .set_load_balancers(balancer.map(|b| vec![b]))
            .send()
            .await
            .map_err(|e| aws_error("CreateService", e))?;
        let created = Created::Service {
            cluster,
            name: name.to_string(),
        };
        Ok(((), Some(created)))
    })
    .await?;
    Ok(())
}

/// Where one-off builder tasks run, for the config's `[builds.ecs]`.
pub fn ecs_target(spec: &SetupSpec, out: &Outputs) -> crate::ecs_builds::EcsTarget {
    crate::ecs_builds::EcsTarget {
        cluster: spec.resource(""),
        task_definition: spec.resource("builder"),
        container: BUILDER_CONTAINER.into(),
        subnets: out.subnets.clone(),
        security_groups: out.task_group.clone().into_iter().collect(),
        assign_public_ip: true,
    }
}
