//! The Watch screen's engine without a window: `App::watch_add` / `watch_remove` and the
//! `Watch` events the rows are drawn from. A new watch deploys at once and its first deploy
//! (with its history) reaches the event stream and the watch list even when it beats the
//! `watch_add` answer; saving a file deploys again at the watch URL; a deleted folder is
//! reported gone and a folder put back deploys again; the history survives a restart. A
//! removed watch (idle, or removed in the middle of a deploy) sends no view after its removal,
//! so it never comes back to the list, and what it deployed stays deployed.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Harness, deployed_file, write};
use pier_app::AppEvent;
use pier_app::watches::{WatchState, WatchView};

fn canonical(dir: &Path) -> String {
    dir.canonicalize().unwrap().display().to_string()
}

/// A `Watch` event's view for `dir` that `found` accepts.
fn view_of(event: &AppEvent, dir: &str, found: impl Fn(&WatchView) -> bool) -> Option<WatchView> {
    match event {
        AppEvent::Watch(view) if view.dir == dir && found(view) => Some(view.clone()),
        _ => None,
    }
}

fn list_file(harness: &Harness) -> PathBuf {
    harness.work.path().join("config/watches.json")
}

fn history_file(harness: &Harness) -> PathBuf {
    harness.work.path().join("config/watch-history.json")
}

fn remembered(harness: &Harness) -> Vec<String> {
    pier_core::watch::list::load(&list_file(harness))
        .unwrap()
        .into_iter()
        .map(|spec| spec.dir.display().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_deploys_at_once_again_on_save_and_says_when_its_folder_is_gone() {
    let mut harness = Harness::start().await;
    let site = harness.site("blog", &[("index.html", "<h1>v1</h1>")]);
    let dir = canonical(&site);
    let store = harness.store();

    // What the watch list holds at the moment the first deploy's event is sent (it may beat
    // the `watch_add` answer to the window, which then keeps the event's view).
    let listed_at_first_deploy: Arc<Mutex<Option<Vec<WatchView>>>> = Arc::default();
    {
        let app = harness.app.clone();
        let listed = listed_at_first_deploy.clone();
        let dir = dir.clone();
        harness.events.on_event(move |event| {
            if view_of(event, &dir, |v| !v.history.is_empty()).is_some() {
                listed.lock().unwrap().get_or_insert_with(|| app.watches());
            }
        });
    }
    let mark = harness.events.mark();
    let added = harness.app.watch_add(site.clone(), false).unwrap();
    assert_eq!(added.dir, dir);
    assert_eq!(added.project, "blog");
    assert_eq!(added.url, harness.url("blog-watch"));
    assert!(
        added.history.is_empty() || added.history.len() == 1,
        "{added:?}"
    );
    assert_eq!(
        remembered(&harness),
        [dir.as_str()],
        "the list is kept on disk"
    );

    let first = harness
        .events
        .until("the first deploy", mark, |event| {
            view_of(event, &dir, |v| !v.history.is_empty())
        })
        .await;
    harness.events.clear_hook();
    assert_eq!(first.state, WatchState::Idle);
    assert_eq!(first.history.len(), 1, "{first:?}");
    let first_deploy = first.history[0].clone();
    assert!(
        first_deploy.preview_url.starts_with("http://blog-")
            && first_deploy.preview_url.ends_with(":4800"),
        "{first_deploy:?}"
    );
    // The engine's half of the first race: the list read when that event went out, and any
    // read after it, has the deploy.
    let listed = listed_at_first_deploy.lock().unwrap().clone().unwrap();
    let row = listed.iter().find(|v| v.dir == dir).expect("listed");
    assert_eq!(row.history, first.history);
    let rows = harness.app.watches();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].history, first.history);
    assert_eq!(rows[0].state, WatchState::Idle);
    // The watch URL serves it, and the lists are told to reload.
    let live = pier_core::deployments::resolve(store.as_ref(), &added.url)
        .await
        .unwrap();
    assert_eq!(live.id, first_deploy.deployment);
    assert_eq!(
        deployed_file(&store, "blog-watch", "index.html").await,
        "<h1>v1</h1>"
    );
    harness
        .events
        .until_reload("a reload of the lists", mark, "blog")
        .await;

    // Saving a file deploys again: the row says deploying, then shows the new deploy first.
    let mark = harness.events.mark();
    write(&site.join("index.html"), "<h1>v2</h1>");
    let second = harness
        .events
        .until("the deploy after a save", mark, |event| {
            view_of(event, &dir, |v| v.history.len() == 2)
        })
        .await;
    assert!(
        harness
            .events
            .since(mark)
            .iter()
            .any(|event| view_of(event, &dir, |v| v.state == WatchState::Deploying).is_some()),
        "the row showed the deploy going"
    );
    assert_eq!(second.state, WatchState::Idle);
    assert_eq!(second.history[1], first_deploy, "newest first");
    assert_eq!(second.history[0].changes, 1, "{:?}", second.history[0]);
    assert_eq!(
        deployed_file(&store, "blog-watch", "index.html").await,
        "<h1>v2</h1>"
    );
    assert_eq!(
        pier_core::deployments::resolve(store.as_ref(), "blog-watch")
            .await
            .unwrap()
            .id,
        second.history[0].deployment
    );
    assert!(
        common::manifest(&store, &first_deploy.deployment)
            .await
            .is_some(),
        "the earlier deploy is kept"
    );

    // The folder goes: the row says so, the watch stays in the list, the site stays served.
    let mark = harness.events.mark();
    std::fs::remove_dir_all(&site).unwrap();
    let gone = harness
        .events
        .until("the folder reported gone", mark, |event| {
            view_of(event, &dir, |v| v.state == WatchState::FolderGone)
        })
        .await;
    assert!(
        gone.message
            .as_deref()
            .unwrap_or("")
            .contains("folder is gone"),
        "{gone:?}"
    );
    assert_eq!(gone.history, second.history);
    assert_eq!(harness.app.watches()[0].state, WatchState::FolderGone);
    assert_eq!(remembered(&harness), [dir.as_str()]);
    assert_eq!(
        deployed_file(&store, "blog-watch", "index.html").await,
        "<h1>v2</h1>"
    );

    // It comes back (moved into place whole): the watch deploys it.
    let mark = harness.events.mark();
    let staging = harness.site("staging/blog", &[("index.html", "<h1>v3</h1>")]);
    std::fs::rename(&staging, &site).unwrap();
    let back = harness
        .events
        .until("the deploy of the folder put back", mark, |event| {
            view_of(event, &dir, |v| v.history.len() == 3)
        })
        .await;
    assert_eq!(back.state, WatchState::Idle);
    assert_eq!(back.message, None);
    assert_eq!(
        deployed_file(&store, "blog-watch", "index.html").await,
        "<h1>v3</h1>"
    );

    // A restart resumes the watch with its history, read from disk.
    harness.restart().await;
    // The new app's events, from its start (its first deploy may already be among them).
    let mark = 0;
    let resumed = harness.app.watches();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].dir, dir);
    assert!(
        resumed[0].history.ends_with(&back.history),
        "{:?}",
        resumed[0].history
    );
    // It watches again: it deploys what the folder holds as it starts, as a new watch does.
    let again = harness
        .events
        .until("the resumed watch's deploy", mark, |event| {
            view_of(event, &dir, |v| v.history.len() == 4)
        })
        .await;
    assert_eq!(again.history[1..], back.history[..]);
    harness.app.watch_remove(site).unwrap();
    assert!(harness.app.watches().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_watch_stays_removed_and_what_it_deployed_stays_deployed() {
    let harness = Harness::start().await;
    let app = &harness.app;
    let store = harness.store();
    let mut first = std::collections::HashMap::new();
    let mut dirs = std::collections::HashMap::new();
    for name in ["docs", "notes", "shop"] {
        let site = harness.site(name, &[("index.html", &format!("<h1>{name} v1</h1>"))]);
        let dir = canonical(&site);
        let mark = harness.events.mark();
        app.watch_add(site.clone(), false).unwrap();
        let view = harness
            .events
            .until(&format!("{name}'s first deploy"), mark, |event| {
                view_of(event, &dir, |v| !v.history.is_empty())
            })
            .await;
        first.insert(name, view.history[0].deployment.clone());
        dirs.insert(name, (site, dir));
    }
    let (docs, docs_dir) = dirs["docs"].clone();
    let (notes, notes_dir) = dirs["notes"].clone();
    let (shop, shop_dir) = dirs["shop"].clone();

    // `docs` is removed while idle: gone from the list, the list file and the history file at
    // once.
    let removed_at = harness.events.mark();
    app.watch_remove(docs.clone()).unwrap();
    let rows: Vec<String> = app.watches().into_iter().map(|v| v.dir).collect();
    assert_eq!(rows, [notes_dir.clone(), shop_dir.clone()]);
    assert!(!remembered(&harness).contains(&docs_dir));
    let history = std::fs::read_to_string(history_file(&harness)).unwrap();
    assert!(!history.contains(&docs_dir), "{history}");

    // `notes` is removed the moment it reports a deploy going (as a window that answers at
    // once would): its deploy may finish, but no view of it is sent after the removal.
    let removed_mid_deploy = Arc::new(Mutex::new(None));
    {
        let app = app.clone();
        let notes = notes.clone();
        let notes_dir = notes_dir.clone();
        let removed = removed_mid_deploy.clone();
        harness.events.on_event(move |event| {
            if view_of(event, &notes_dir, |v| v.state == WatchState::Deploying).is_some() {
                let mut removed = removed.lock().unwrap();
                if removed.is_none() {
                    *removed = Some(app.watch_remove(notes.clone()));
                }
            }
        });
    }
    let mark = harness.events.mark();
    write(&notes.join("index.html"), "<h1>notes v2</h1>");
    harness
        .events
        .until("notes deploying", mark, |event| {
            view_of(event, &notes_dir, |v| v.state == WatchState::Deploying)
        })
        .await;
    // The hook ran before the event was recorded; the removal is done.
    let removal = removed_mid_deploy.lock().unwrap().clone().unwrap();
    assert_eq!(removal, Ok(()));
    let after_notes_removed = harness.events.mark();
    harness.events.clear_hook();

    // Saves in the folder removed while idle and in the kept one: only the kept one deploys.
    // (`notes` is left alone: its deploy in flight reads the folder as it goes.)
    write(&docs.join("index.html"), "<h1>docs after removal</h1>");
    let mark = harness.events.mark();
    write(&shop.join("index.html"), "<h1>shop v2</h1>");
    harness
        .events
        .until("shop's deploy after a save", mark, |event| {
            view_of(event, &shop_dir, |v| v.history.len() == 2)
        })
        .await;
    // A removed watch that still ran would have settled (1 s at most) and deployed by now;
    // give it that long again before saying it did not.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let views_of = |dir: &str, from: usize| -> Vec<AppEvent> {
        harness
            .events
            .since(from)
            .into_iter()
            .filter(|event| view_of(event, dir, |_| true).is_some())
            .collect()
    };
    let late = views_of(&docs_dir, removed_at);
    assert!(
        late.is_empty(),
        "a view of `docs` after its removal: {late:?}"
    );
    let late = views_of(&notes_dir, after_notes_removed);
    assert!(
        late.is_empty(),
        "a view of `notes` after its removal: {late:?}"
    );
    let rows: Vec<String> = app.watches().into_iter().map(|v| v.dir).collect();
    assert_eq!(
        rows,
        [shop_dir.as_str()],
        "the removed watches stay removed"
    );
    assert_eq!(remembered(&harness), [shop_dir.as_str()]);
    let history = std::fs::read_to_string(history_file(&harness)).unwrap();
    assert!(
        !history.contains(&docs_dir) && !history.contains(&notes_dir),
        "{history}"
    );

    // What they deployed stays deployed, and the saves after the removal were not deployed.
    assert_eq!(
        deployed_file(&store, "docs-watch", "index.html").await,
        "<h1>docs v1</h1>"
    );
    assert!(common::manifest(&store, &first["docs"]).await.is_some());
    assert!(common::manifest(&store, &first["notes"]).await.is_some());
    let notes_live = deployed_file(&store, "notes-watch", "index.html").await;
    assert!(
        notes_live == "<h1>notes v1</h1>" || notes_live == "<h1>notes v2</h1>",
        "{notes_live}"
    );
    let listed: Vec<String> = app
        .deployments("docs")
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.id)
        .collect();
    assert_eq!(listed, [first["docs"].clone()]);

    // Watching `docs` again starts afresh (its old history was forgotten) and deploys what
    // the folder holds now.
    let mark = harness.events.mark();
    let again = app.watch_add(docs.clone(), false).unwrap();
    assert!(again.history.len() <= 1, "{again:?}");
    let view = harness
        .events
        .until("docs deployed again", mark, |event| {
            view_of(event, &docs_dir, |v| !v.history.is_empty())
        })
        .await;
    assert_eq!(view.history.len(), 1, "{view:?}");
    assert_eq!(
        deployed_file(&store, "docs-watch", "index.html").await,
        "<h1>docs after removal</h1>"
    );
}
