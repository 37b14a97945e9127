//! The PAT API: `/auth/pats` list, get, create, update, activate, deactivate, delete.

use super::*;

/// A PAT's lifetime: `secondsValid`, else `daysValid`, else one year.
pub(super) fn pat_lifetime(days: Option<i64>, seconds: Option<i64>) -> i64 {
    seconds.unwrap_or_else(|| days.unwrap_or(365).saturating_mul(86_400))
}

impl StoredPat {
    pub(super) fn to_json(&self, org_id: &str, app_id: &str) -> Value {
        let assignments: Vec<Value> = match (self.permission_id(), self.assignment_id()) {
            (Some(pid), Some(aid)) => vec![json!({
                "permissionName": format!("Permission {pid}"),
                "permissionId": pid,
                "assignmentId": aid,
                "operations": ["Auth:Pats:Read"],
            })],
            _ => Vec::new(),
        };
        json!({
            "dateCreated": rfc3339_ms(self.created_ms),
            "credId": self.cred_id,
            "isActive": self.is_active && !self.deleted,
            "kind": "Pat",
            "linkedUserId": self.linked_user_id,
            "linkedAppId": app_id,
            "name": self.name,
            "orgId": org_id,
            "publicKey": self.public_key.pem(),
            "tokenId": self.token_id,
            "permissionAssignments": assignments,
        })
    }
}

/// The 404 of a token the caller has not (or that is not a token id).
fn not_found(id: impl std::fmt::Display) -> Reject {
    error(404, format!("Personal access token {id} not found"))
}

impl State {
    /// The principal's live tokens, in creation order.
    /// O(the principal's tokens): they are one range of the table.
    pub(super) fn visible(&self, principal: &Principal) -> Vec<&StoredPat> {
        let mut mine: Vec<&StoredPat> = self
            .pats
            .range(PatKey::of_user(principal.user_id()))
            .map(|(_, p)| p)
            .filter(|p| !p.deleted)
            .collect();
        mine.sort_by_key(|p| p.seq);
        mine
    }

    pub(super) fn list(&self, principal: &Principal) -> Answer {
        let items: Vec<Value> = self
            .visible(principal)
            .into_iter()
            .map(|p| p.to_json(&self.org_id, &self.app_id))
            .collect();
        ok(json!({ "items": items }))
    }

    /// The principal's live token `id` (`None` too when `id` is not a token id).
    fn mine(&self, principal: &Principal, id: &str) -> Option<&StoredPat> {
        let key = PatKey {
            user: principal.user_id(),
            token: Id::parse(id)?,
        };
        self.pats.get(&key).filter(|p| !p.deleted)
    }

    pub(super) fn get(&self, principal: &Principal, id: &str) -> Outcome {
        self.mine(principal, id)
            .map(|p| ok(p.to_json(&self.org_id, &self.app_id)))
            .ok_or_else(|| not_found(id))
    }

    /// The principal's live token `id`, to change: its key, or 404.
    pub(super) fn find(&self, principal: &Principal, id: &str) -> Result<PatKey, Reject> {
        self.mine(principal, id)
            .map(StoredPat::key)
            .ok_or_else(|| not_found(id))
    }

    /// Changes the token at `key` (which [`find`](Self::find) gave) and answers it.
    pub(super) fn change(&mut self, key: PatKey, change: impl FnOnce(&mut StoredPat)) -> Answer {
        match self.pats.get_mut(&key) {
            Some(pat) => {
                change(pat);
                ok(pat.to_json(&self.org_id, &self.app_id))
            }
            None => not_found(key.token).into_answer(),
        }
    }

    pub(super) fn external_id_taken(&self, external_id: &str, except: Option<&str>) -> bool {
        let except = except.and_then(Id::parse);
        self.pats.values().any(|p| {
            !p.deleted && p.external_id() == Some(external_id) && Some(p.token_id) != except
        })
    }

    pub(super) fn create(&mut self, request: &Request, principal: &Principal) -> Outcome {
        let body = object_body(
            request,
            &[
                "name",
                "publicKey",
                "permissionId",
                "externalId",
                "daysValid",
                "secondsValid",
            ],
        )?;
        let name = required_string(&body, "name")?;
        if name.is_empty() {
            return Err(error(400, "\"name\" must be at least 1 character long"));
        }
        let public_key = required_string(&body, "publicKey")?;
        if !is_pem_public_key(&public_key) {
            return Err(error(400, "\"publicKey\" must be a PEM public key"));
        }
        let permission_id = optional_string(&body, "permissionId")?;
        let external_id = optional_string(&body, "externalId")?;
        let days = positive_integer(&body, "daysValid")?;
        let seconds = positive_integer(&body, "secondsValid")?;
        if let Some(ext) = &external_id
            && self.external_id_taken(ext, None)
        {
            return Err(error(
                409,
                format!("a token with externalId {ext} already exists"),
            ));
        }
        let token_id = Id::random(*b"to");
        let extras = Extras {
            assignment_id: permission_id.as_ref().map(|_| Id::random(*b"as")),
            permission_id: permission_id.map(Into::into),
            external_id: external_id.map(Into::into),
        };
        let pat = StoredPat {
            token_id,
            cred_id: Id::random(*b"cr"),
            linked_user_id: principal.user_id(),
            name: name.into(),
            created_ms: now_ms(),
            public_key: PublicKey::new(&public_key),
            extras: extras.boxed(),
            seq: self.next_seq,
            is_active: true,
            deleted: false,
        };
        self.next_seq += 1;
        // The access token is answered once and kept only as its digest.
        let access_token = mint_token(
            &self.org_id,
            &pat.linked_user_id.to_string(),
            "Pat",
            pat_lifetime(days, seconds),
        );
        self.bearers
            .insert(TokenDigest::of(&access_token), Bearer::Pat(token_id));
        let mut answer = pat.to_json(&self.org_id, &self.app_id);
        if let Value::Object(map) = &mut answer {
            map.insert("accessToken".to_owned(), Value::String(access_token));
        }
        self.pats.insert(pat.key(), pat);
        Ok(ok(answer))
    }

    pub(super) fn update(&mut self, request: &Request, principal: &Principal, id: &str) -> Outcome {
        let body = object_body(request, &["name", "externalId"])?;
        let name = optional_string(&body, "name")?;
        if name.as_deref() == Some("") {
            return Err(error(400, "\"name\" must be at least 1 character long"));
        }
        let external_id = optional_string(&body, "externalId")?;
        let key = self.find(principal, id)?;
        if let Some(ext) = &external_id
            && self.external_id_taken(ext, Some(id))
        {
            return Err(error(
                409,
                format!("a token with externalId {ext} already exists"),
            ));
        }
        Ok(self.change(key, |pat| {
            if let Some(name) = name {
                pat.name = name.into();
            }
            if let Some(ext) = external_id {
                pat.extras.get_or_insert_default().external_id = Some(ext.into());
            }
        }))
    }
}
