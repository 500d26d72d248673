//! `pier logs --functions PROJECT`: what a project's functions printed. When the store's
//! functions run on Lambda (`settings/functions.json`), from CloudWatch Logs
//! (`pier_aws::function_logs`); else from this machine's function log, which the local
//! runtime of `pier serve` and the desktop app writes (`pier_core::functions::log`).
//! `--since` says how far back to start; `--follow` keeps printing as lines come.
//! The project's `pier env` secrets known here are masked in every line: the local runtime
//! masks them as it writes, but CloudWatch holds what the function printed.

use pier_core::functions::log::FunctionLogLine;
use pier_core::store::DynStore;
use serde_json::json;
use time::OffsetDateTime;

use crate::output::Output;

pub async fn run(
    store: &DynStore,
    out: &Output<'_>,
    project: &str,
    since: &str,
    follow: bool,
) -> anyhow::Result<()> {
    pier_core::project_name::validate(project)?;
    let since = OffsetDateTime::now_utc() - parse_since(since)?;
    let secrets =
        pier_core::project_env::ProjectEnvs::for_this_machine().known_secret_values(project);
    let mut source = pier_aws::function_logs::FunctionOutput::open(
        store.as_ref(),
        &pier_core::functions::log::default_work_dir(),
        project,
        since,
        secrets,
    )
    .await?;
    let mut all = Vec::new();
    loop {
        let lines = source.next_batch().await?;
        if out.json && !follow {
            all.extend(lines);
        } else if out.json {
            for line in &lines {
                println!("{}", serde_json::to_string(line)?);
            }
        } else {
            for line in &lines {
                print_line(line);
            }
        }
        if !follow {
            break;
        }
        tokio::time::sleep(source.poll_every()).await;
    }
    if out.json && !follow {
        out.print(json!({ "project": project, "lines": all }));
    }
    Ok(())
}

fn print_line(line: &FunctionLogLine) {
    let at = line
        .at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mark = if line.stream == "stderr" {
        "┃"
    } else {
        "│"
    };
    println!("{at} {} {mark} {}", line.function, line.text);
}

/// `30s`, `15m`, `2h` or `1d`.
fn parse_since(text: &str) -> anyhow::Result<time::Duration> {
    let bad = || anyhow::anyhow!("--since {text}: give a number and a unit, as 30s, 15m, 2h or 1d");
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let number: i64 = number.parse().map_err(|_| bad())?;
    Ok(match unit {
        "s" => time::Duration::seconds(number),
        "m" => time::Duration::minutes(number),
        "h" => time::Duration::hours(number),
        "d" => time::Duration::days(number),
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn since_takes_a_number_and_a_unit() {
        assert_eq!(
            super::parse_since("15m").unwrap(),
            time::Duration::minutes(15)
        );
        assert_eq!(super::parse_since("1d").unwrap(), time::Duration::days(1));
        for bad in ["15", "m", "1w", "-1h", ""] {
            let error = super::parse_since(bad).unwrap_err().to_string();
            assert!(error.contains("30s, 15m, 2h or 1d"), "{bad}: {error}");
        }
    }
}
