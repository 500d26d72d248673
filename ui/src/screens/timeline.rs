//! A project's last 30 days at a glance, on its Projects row: one cell per day (today at the
//! right), green where deployments were made, red where a build failed, so activity shows
//! without opening the project. Days are 24-hour spans back from now, the same in every time
//! zone. The strip is one image to assistive technology, named by its totals.

use leptos::prelude::*;

use crate::types::{ACTIVITY_DAYS, Activity};

const DAY_MS: i64 = 86_400_000;

/// What one day holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Day {
    pub deployed: u32,
    pub failed: u32,
}

/// The last [`ACTIVITY_DAYS`] days, oldest first (the last is the 24 hours up to `now_ms`).
pub fn days(activity: &[Activity], now_ms: i64) -> Vec<Day> {
    let mut days = vec![Day::default(); ACTIVITY_DAYS as usize];
    for event in activity {
        let back = now_ms.saturating_sub(event.at_ms).max(0) / DAY_MS;
        if back >= ACTIVITY_DAYS {
            continue;
        }
        let day = &mut days[(ACTIVITY_DAYS - 1 - back) as usize];
        if event.ok {
            day.deployed += 1;
        } else {
            day.failed += 1;
        }
    }
    days
}

fn plural(count: u32, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn describe(day: Day) -> String {
    let mut parts = Vec::new();
    if day.deployed > 0 {
        parts.push(plural(day.deployed, "deployment", "deployments"));
    }
    if day.failed > 0 {
        parts.push(plural(day.failed, "failed build", "failed builds"));
    }
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

#[component]
pub fn Timeline(activity: Vec<Activity>) -> impl IntoView {
    let days = days(&activity, crate::now_ms());
    let total = days.iter().fold(Day::default(), |sum, day| Day {
        deployed: sum.deployed + day.deployed,
        failed: sum.failed + day.failed,
    });
    let label = format!("Last {ACTIVITY_DAYS} days: {}", describe(total));
    let last = days.len() - 1;
    view! {
        <div class="timeline" role="img" aria-label=label.clone() title=label
            data-deployed=total.deployed data-failed=total.failed>
            {days.into_iter().enumerate().map(|(index, day)| {
                let when = match last - index {
                    0 => "today".to_string(),
                    1 => "yesterday".to_string(),
                    back => format!("{back} days ago"),
                };
                view! {
                    <span
                        class="day"
                        class:deployed={day.deployed > 0}
                        class:failed={day.failed > 0}
                        title=format!("{when}: {}", describe(day))
                    ></span>
                }
            }).collect_view()}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_fall_in_their_day_counted_back_from_now_and_older_ones_are_left_out() {
        let now = 1_800_000_000_000;
        let at = |hours_ago: i64, ok: bool| Activity {
            at_ms: now - hours_ago * 3_600_000,
            ok,
        };
        let days = days(
            &[
                at(1, true),
                at(2, true),
                at(3, false),
                at(30, true),
                at(29 * 24 + 5, false),
                at(31 * 24, true),
            ],
            now,
        );
        assert_eq!(days.len(), 30);
        assert_eq!(
            days[29],
            Day {
                deployed: 2,
                failed: 1
            },
            "today"
        );
        assert_eq!(
            days[28],
            Day {
                deployed: 1,
                failed: 0
            },
            "yesterday"
        );
        assert_eq!(
            days[0],
            Day {
                deployed: 0,
                failed: 1
            },
            "29 days ago"
        );
        let counted: u32 = days.iter().map(|d| d.deployed + d.failed).sum();
        assert_eq!(counted, 5, "the one older than 30 days is left out");
        assert_eq!(describe(days[29]), "2 deployments, 1 failed build");
        assert_eq!(describe(Day::default()), "nothing");
    }
}
