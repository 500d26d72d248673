//! The shape every setup step shares, kept in one place: a step finds its resource by name,
//! and what it found decides the change (exists, create, update). A plan stops there; an
//! apply creates or corrects the resource and records what it created at once, so an apply
//! that stops half way resumes, and teardown deletes exactly what setup made.
//!
//! Each change goes to the caller as soon as it is known, so a slow apply (CloudFront alone
//! takes minutes) shows its progress resource by resource.

use std::future::Future;

use crate::setup::record::{Created, SetupRecord};
use crate::setup::spec::{Action, Change, Clients, Mode, Outputs, SetupSpec};
use pier_core::error::PierError;

/// What a step found of one resource, by name.
pub enum Found<T> {
    /// Not there: a plan would create it.
    Missing,
    /// There, but not as wanted: a plan would correct it.
    Differs(T),
    /// There as wanted.
    AsWanted(T),
}

impl<T> Found<T> {
    /// A resource that is either there as wanted or missing.
    pub fn from_option(found: Option<T>) -> Found<T> {
        found.map_or(Found::Missing, Found::AsWanted)
    }
}

impl Found<()> {
    /// A setting of a resource that exists (a bucket's encryption, a rule): in place or not.
    pub fn setting(in_place: bool) -> Found<()> {
        if in_place {
            Found::AsWanted(())
        } else {
            Found::Differs(())
        }
    }
}

/// What an apply made or corrected: the resource's id, and what to record when it made one.
pub type Made<T> = (T, Option<Created>);

/// One run of the steps: what they share and what they have found so far.
pub struct Step<'a> {
    pub clients: &'a Clients,
    pub spec: &'a SetupSpec,
    pub mode: Mode,
    pub out: &'a mut Outputs,
    record: &'a mut SetupRecord,
    on_change: &'a mut (dyn FnMut(&Change) + Send),
    changes: Vec<Change>,
}

impl<'a> Step<'a> {
    pub fn new(
        clients: &'a Clients,
        spec: &'a SetupSpec,
        mode: Mode,
        record: &'a mut SetupRecord,
        out: &'a mut Outputs,
        on_change: &'a mut (dyn FnMut(&Change) + Send),
    ) -> Step<'a> {
        Step {
            clients,
            spec,
            mode,
            out,
            record,
            on_change,
            changes: Vec::new(),
        }
    }

    /// Find → plan → create or correct → record. `about` names the resource (its action is
    /// set from `found`); `apply` runs only on an apply, with the resource's current id when
    /// it `Differs`, and returns its id and, when it made the resource, what to record.
    /// Returns the resource's id: none when a plan found it missing.
    pub async fn ensure<T, F, Fut>(
        &mut self,
        about: Change,
        found: Found<T>,
        apply: F,
    ) -> Result<Option<T>, PierError>
    where
        F: FnOnce(Option<T>) -> Fut,
        Fut: Future<Output = Result<Made<T>, PierError>>,
    {
        let (action, current) = match found {
            Found::AsWanted(current) => {
                self.report(Change {
                    action: Action::Exists,
                    ..about
                });
                return Ok(Some(current));
            }
            Found::Differs(current) => (Action::Update, Some(current)),
            Found::Missing => (Action::Create, None),
        };
        let change = Change { action, ..about };
        if !self.mode.applies() {
            self.report(change);
            return Ok(current);
        }
        let (id, created) = apply(current).await?;
        if let Some(created) = created {
            self.record.created(created)?;
        }
        self.report(change);
        Ok(Some(id))
    }

    /// Records something made outside [`Step::ensure`] (a resource adopted from a run that
    /// stopped before recording it).
    pub fn created(&mut self, created: Created) -> Result<(), PierError> {
        self.record.created(created)
    }

    /// A change decided by the step itself (an image used as given, a certificate waiting).
    pub fn report(&mut self, change: Change) {
        (self.on_change)(&change);
        self.changes.push(change);
    }

    /// Progress of a long step, as an update of its change: shown, never kept in the report.
    pub fn progress(&mut self, change: &Change) {
        (self.on_change)(change);
    }

    pub fn into_changes(self) -> Vec<Change> {
        self.changes
    }
}
