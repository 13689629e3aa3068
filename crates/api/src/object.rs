//! Traits the controller uses to treat every toolkit kind alike: suspend, interval, status
//! bookkeeping (conditions, observedGeneration, lastHandledReconcileAt).

use kube::Resource;

use crate::condition::{Condition, HasConditions};
use crate::duration::GoDuration;
use crate::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use crate::kustomize::Kustomization;
use crate::notification::{Alert, Provider, Receiver};
use crate::reconcile;
use crate::source::GitRepository;

/// What every toolkit kind has.
pub trait FluxObject: Resource<DynamicType = ()> {
    /// `spec.suspend`.
    fn suspended(&self) -> bool;
    /// `spec.interval`, for kinds that have one.
    fn interval(&self) -> Option<&GoDuration>;
}

/// Status bookkeeping of the kinds that have a status.
pub trait FluxStatus: FluxObject + HasConditions {
    /// `status.observedGeneration`.
    fn observed_generation(&self) -> Option<i64>;
    /// Sets `status.observedGeneration`.
    fn set_observed_generation(&mut self, generation: Option<i64>);
    /// `status.lastHandledReconcileAt`.
    fn last_handled_reconcile_at(&self) -> Option<&str>;
    /// Sets `status.lastHandledReconcileAt`.
    fn set_last_handled_reconcile_at(&mut self, value: Option<String>);

    /// The `reconcile.fluxcd.io/requestedAt` value not handled yet, if any.
    fn pending_reconcile_request(&self) -> Option<&str> {
        reconcile::pending_request(
            self.meta().annotations.as_ref(),
            self.last_handled_reconcile_at(),
        )
    }
}

macro_rules! with_status {
    ($kind:ty, $interval:expr) => {
        impl FluxObject for $kind {
            fn suspended(&self) -> bool {
                self.spec.suspend.unwrap_or(false)
            }
            fn interval(&self) -> Option<&GoDuration> {
                let interval: fn(&Self) -> Option<&GoDuration> = $interval;
                interval(self)
            }
        }

        impl HasConditions for $kind {
            fn conditions(&self) -> &[Condition] {
                self.status
                    .as_ref()
                    .map_or(&[], |s| s.conditions.as_slice())
            }
            fn conditions_mut(&mut self) -> &mut Vec<Condition> {
                &mut self.status.get_or_insert_with(Default::default).conditions
            }
            fn generation(&self) -> Option<i64> {
                self.metadata.generation
            }
        }

        impl FluxStatus for $kind {
            fn observed_generation(&self) -> Option<i64> {
                self.status.as_ref().and_then(|s| s.observed_generation)
            }
            fn set_observed_generation(&mut self, generation: Option<i64>) {
                self.status
                    .get_or_insert_with(Default::default)
                    .observed_generation = generation;
            }
            fn last_handled_reconcile_at(&self) -> Option<&str> {
                self.status
                    .as_ref()
                    .and_then(|s| s.last_handled_reconcile_at.as_deref())
            }
            fn set_last_handled_reconcile_at(&mut self, value: Option<String>) {
                self.status
                    .get_or_insert_with(Default::default)
                    .last_handled_reconcile_at = value;
            }
        }
    };
}

with_status!(GitRepository, |o| Some(&o.spec.interval));
with_status!(Kustomization, |o| Some(&o.spec.interval));
with_status!(ImageRepository, |o| Some(&o.spec.interval));
with_status!(ImagePolicy, |o| o.spec.interval.as_ref());
with_status!(ImageUpdateAutomation, |o| Some(&o.spec.interval));
with_status!(Receiver, |o| o.spec.interval.as_ref());

impl FluxObject for Provider {
    fn suspended(&self) -> bool {
        self.spec.suspend.unwrap_or(false)
    }
    fn interval(&self) -> Option<&GoDuration> {
        self.spec.interval.as_ref()
    }
}

impl FluxObject for Alert {
    fn suspended(&self) -> bool {
        self.spec.suspend.unwrap_or(false)
    }
    fn interval(&self) -> Option<&GoDuration> {
        None
    }
}
