//! Every exchange a simulator answers (faults excepted) is offered here, to be checked
//! against the provider's vendor contract (`contracts/<provider>/openapi.json`).
//!
//! Placeholder: the checker lands with the contract validation; until then nothing is
//! checked.

use crate::answer::Answer;

/// The provider a simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)]
pub(crate) enum Provider {
    Dfns,
    SailPoint,
    Zitadel,
}

/// Offers one request and the simulator's (non-fault) answer to the contract checker.
pub(crate) fn observe(_provider: Provider, _request: &wiremock::Request, _answer: &Answer) {}
