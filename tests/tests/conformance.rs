//! The conformance suite, once per provider. A new provider: one more line.

use pats_conformance::conformance_suite;
use pats_conformance::harness::{DfnsHarness, SailPointHarness, ZitadelHarness};

conformance_suite!(dfns, DfnsHarness);
conformance_suite!(zitadel, ZitadelHarness);
conformance_suite!(sailpoint, SailPointHarness);
