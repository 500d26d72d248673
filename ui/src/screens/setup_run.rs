//! A setup run as the window keeps it: started from the AWS setup screen (plan, apply) or from
//! the teardown confirmation, its steps arriving as events. Apart from both screens so that
//! neither depends on the other.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::types::{Change, SetupForm, SetupOutcome, SetupRun, UserError};
use crate::{Ctx, bridge};

/// The run in progress or last ended; kept in [`Ctx`] so leaving the screen loses nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetupState {
    /// The run the steps belong to: the one going, or the last one, which keeps deciding the
    /// tense of their verbs after it ended (with an error too, when there is no outcome).
    pub run: Option<SetupRun>,
    pub running: bool,
    pub steps: Vec<Change>,
    pub outcome: Option<SetupOutcome>,
    pub error: Option<UserError>,
}

impl SetupState {
    pub fn step(&mut self, run: SetupRun, change: Change) {
        if !self.running || self.run != Some(run) {
            self.run = Some(run);
            self.running = true;
            self.steps.clear();
        }
        // A step that reports progress (the image copy) sends its change again as it goes:
        // the row updates in place.
        match self
            .steps
            .last_mut()
            .filter(|last| last.resource == change.resource && last.name == change.name)
        {
            Some(last) => *last = change,
            None => self.steps.push(change),
        }
    }

    /// The run in progress, if one is.
    pub fn going(&self) -> Option<SetupRun> {
        self.run.filter(|_| self.running)
    }

    pub fn ended(&mut self, outcome: Option<SetupOutcome>, error: Option<UserError>) {
        self.running = false;
        if let Some(outcome) = &outcome {
            self.steps = outcome.changes.clone();
        }
        self.outcome = outcome;
        self.error = error;
    }
}

#[derive(Serialize)]
pub struct RunArgs {
    pub form: SetupForm,
    pub run: SetupRun,
}

/// Starts a run; its steps arrive as events.
pub fn start(ctx: Ctx, form: SetupForm, run: SetupRun) {
    ctx.setup.set(SetupState {
        run: Some(run),
        running: true,
        ..SetupState::default()
    });
    spawn_local(async move {
        if let Err(error) = bridge::run("setup_run", RunArgs { form, run }).await {
            ctx.setup.update(|s| s.ended(None, Some(error)));
        }
    });
}
