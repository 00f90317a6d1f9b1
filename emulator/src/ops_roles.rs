//! Purpose: role mutations (create, edit, delete, bulk positions) with Discord's permission,
//! hierarchy and limit checks, audit entries and GUILD_ROLE_* dispatches.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::*;
use crate::permissions as perm;
use crate::state::{Audience, State, World, body};

fn role_changes(old: Option<&Role>, new: Option<&Role>) -> Vec<AuditChange> {
    let mut out = Vec::new();
    let get = |r: Option<&Role>, k: &str| -> Option<Value> {
        r.map(|r| match k {
            "name" => json!(r.name),
            "permissions" => json!(r.permissions.to_string()),
            "color" => json!(r.color),
            "hoist" => json!(r.hoist),
            "mentionable" => json!(r.mentionable),
            "unicode_emoji" => json!(r.unicode_emoji),
            _ => Value::Null,
        })
    };
    for k in [
        "name",
        "permissions",
        "color",
        "hoist",
        "mentionable",
        "unicode_emoji",
    ] {
        let (o, n) = (get(old, k), get(new, k));
        if o != n
            && !(k == "unicode_emoji"
                && o.as_ref().is_none_or(Value::is_null)
                && n.as_ref().is_none_or(Value::is_null))
        {
            out.push(AuditChange::new(
                k,
                o.filter(|v| !v.is_null()),
                n.filter(|v| !v.is_null()),
            ));
        }
    }
    out
}

impl State {
    /// An image field of a body: absent (`None`), `null` (`Some(None)`: removed) or a data URI
    /// (uploaded: `Some(Some(hash))`).
    pub(crate) fn image_field(
        &mut self,
        b: &Value,
        key: &str,
    ) -> Result<Option<Option<String>>, ApiError> {
        match b.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(uri)) => {
                let (hash, bytes) = decode_image(uri).ok_or_else(|| {
                    ApiError::invalid_form(key, "IMAGE_INVALID", "Invalid image data")
                })?;
                self.world
                    .images
                    .insert(hash.clone(), std::sync::Arc::new(bytes));
                Ok(Some(Some(hash)))
            }
            Some(_) => Err(ApiError::invalid_form(
                key,
                "IMAGE_INVALID",
                "Invalid image data",
            )),
        }
    }

    /// Renumbers non-@everyone roles 1..n in the given order and dispatches
    /// GUILD_ROLE_UPDATE for every role whose position changed (except `skip`).
    pub(crate) fn renumber_roles(
        &mut self,
        gid: GuildId,
        order: Vec<RoleId>,
        skip: Option<RoleId>,
    ) {
        let Some(g) = self.world.guilds.get_mut(&gid) else {
            return;
        };
        let mut changed = Vec::new();
        for (i, rid) in order.iter().enumerate() {
            if let Some(r) = g.roles.get_mut(rid) {
                let pos = i as i64 + 1;
                if r.position != pos {
                    r.position = pos;
                    if Some(*rid) != skip {
                        changed.push(r.json());
                    }
                }
            }
        }
        for role in changed {
            let d = json!({ "guild_id": gid.to_string(), "role": role });
            let target = role["id"].as_str().and_then(crate::snowflake::parse);
            self.emit(Audience::Guild(gid), "GUILD_ROLE_UPDATE", &d, target);
        }
    }

    fn check_grantable(g: &Guild, actor: UserId, wanted: u64) -> Result<(), ApiError> {
        let have = World::base_permissions(g, actor);
        if have & perm::ADMINISTRATOR != 0 || have == perm::ALL || wanted & !have == 0 {
            Ok(())
        } else {
            Err(ApiError::missing_permissions())
        }
    }

    /// `POST /guilds/{guild_id}/roles`.
    pub fn create_role(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let name = body::string(b, "name", 0, 100)?
            .flatten()
            .unwrap_or_else(|| "new role".to_string());
        let permissions = body::permissions(b, "permissions")?;
        let mut color = body::integer(b, "color", 0, 0xFF_FFFF)?;
        if let Some(colors) = b.get("colors").filter(|c| c.is_object())
            && let Some(p) = body::integer(colors, "primary_color", 0, 0xFF_FFFF)?
        {
            color = Some(p);
        }
        let hoist = body::boolean(b, "hoist")?.unwrap_or(false);
        let mentionable = body::boolean(b, "mentionable")?.unwrap_or(false);
        let unicode_emoji = body::string(b, "unicode_emoji", 0, 100)?.flatten();
        let icon = self.image_field(b, "icon")?.flatten();
        let max_roles = self.config.max_roles;
        let budget = self.config.rate_limits.role_create_budget.clone();
        let scale = self.config.time_scale;
        let enabled = self.budget_enabled;
        let id = self.next_id();
        let g = self.world.guild_mut(gid)?;
        World::require(g, actor, perm::MANAGE_ROLES)?;
        let everyone_perms = g.everyone().map_or(0, |r| r.permissions);
        let permissions = permissions.unwrap_or(everyone_perms);
        Self::check_grantable(g, actor, permissions)?;
        if g.roles.len() > max_roles {
            return Err(ApiError::max_roles(max_roles));
        }
        Self::take_budget(budget.as_ref(), enabled, scale, &mut g.role_creations)?;
        let role = Role {
            id,
            name,
            color: u32::try_from(color.unwrap_or(0)).unwrap_or(0),
            hoist,
            mentionable,
            permissions,
            position: 1,
            managed: false,
            bot_id: None,
            unicode_emoji,
            icon,
        };
        // Like Discord: a new role is placed at position 1 (the bottom); other roles keep
        // their positions and ties are ordered by id.
        g.roles.insert(id, role);
        let g = self.world.guild(gid)?;
        let role = g.roles.get(&id).ok_or_else(ApiError::unknown_role)?;
        let rj = role.json();
        let changes = role_changes(None, Some(role));
        self.emit(
            Audience::Guild(gid),
            "GUILD_ROLE_CREATE",
            &json!({ "guild_id": gid.to_string(), "role": rj }),
            Some(id),
        );
        self.audit(
            gid,
            actor,
            Some(id),
            audit_action::ROLE_CREATE,
            changes,
            None,
            reason,
        );
        Ok(rj)
    }

    /// `PATCH /guilds/{guild_id}/roles/{role_id}`.
    pub fn update_role(
        &mut self,
        actor: UserId,
        gid: GuildId,
        rid: RoleId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let name = body::string(b, "name", 1, 100)?;
        let permissions = body::permissions(b, "permissions")?;
        let mut color = body::integer(b, "color", 0, 0xFF_FFFF)?;
        if let Some(colors) = b.get("colors").filter(|c| c.is_object())
            && let Some(p) = body::integer(colors, "primary_color", 0, 0xFF_FFFF)?
        {
            color = Some(p);
        }
        let hoist = body::boolean(b, "hoist")?;
        let mentionable = body::boolean(b, "mentionable")?;
        let unicode_emoji = body::string(b, "unicode_emoji", 0, 100)?;
        let icon = self.image_field(b, "icon")?;
        let g = self.world.guild_mut(gid)?;
        World::require(g, actor, perm::MANAGE_ROLES)?;
        let role = g.roles.get(&rid).ok_or_else(ApiError::unknown_role)?;
        if !World::can_manage_role(g, actor, role) {
            return Err(ApiError::missing_permissions());
        }
        if let Some(p) = permissions {
            // Only the bits that change must be held by the actor.
            Self::check_grantable(g, actor, p & !role.permissions)?;
        }
        let old = role.clone();
        let role = g.roles.get_mut(&rid).ok_or_else(ApiError::unknown_role)?;
        if let Some(Some(n)) = name
            && rid != gid
        {
            role.name = n;
        }
        if let Some(p) = permissions {
            role.permissions = p;
        }
        if let Some(c) = color {
            role.color = u32::try_from(c).unwrap_or(0);
        }
        if let Some(h) = hoist {
            role.hoist = h;
        }
        if let Some(m) = mentionable {
            role.mentionable = m;
        }
        if let Some(e) = unicode_emoji {
            role.unicode_emoji = e;
        }
        if let Some(i) = icon {
            role.icon = i;
        }
        let changes = role_changes(Some(&old), Some(role));
        let rj = role.json();
        self.emit(
            Audience::Guild(gid),
            "GUILD_ROLE_UPDATE",
            &json!({ "guild_id": gid.to_string(), "role": rj }),
            Some(rid),
        );
        if !changes.is_empty() {
            self.audit(
                gid,
                actor,
                Some(rid),
                audit_action::ROLE_UPDATE,
                changes,
                None,
                reason,
            );
        }
        Ok(rj)
    }

    /// `DELETE /guilds/{guild_id}/roles/{role_id}`.
    pub fn delete_role(
        &mut self,
        actor: UserId,
        gid: GuildId,
        rid: RoleId,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let g = self.world.guild_mut(gid)?;
        World::require(g, actor, perm::MANAGE_ROLES)?;
        let role = g.roles.get(&rid).ok_or_else(ApiError::unknown_role)?;
        if rid == gid || role.managed {
            return Err(ApiError::invalid_role());
        }
        if !World::can_manage_role(g, actor, role) {
            return Err(ApiError::missing_permissions());
        }
        let old = g.roles.remove(&rid).ok_or_else(ApiError::unknown_role)?;
        for m in g.members.values_mut() {
            m.roles.retain(|r| *r != rid);
        }
        for ch in g.channels.values_mut() {
            ch.overwrites
                .retain(|o| !(o.kind == OverwriteKind::Role && o.id == rid));
        }
        for e in &mut g.emojis {
            e.roles.retain(|r| *r != rid);
        }
        self.emit(
            Audience::Guild(gid),
            "GUILD_ROLE_DELETE",
            &json!({ "guild_id": gid.to_string(), "role_id": rid.to_string() }),
            Some(rid),
        );
        self.audit(
            gid,
            actor,
            Some(rid),
            audit_action::ROLE_DELETE,
            role_changes(Some(&old), None),
            None,
            reason,
        );
        Ok(())
    }

    /// `PATCH /guilds/{guild_id}/roles` (bulk positions).
    pub fn update_role_positions(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        let Some(items) = b.as_array() else {
            return Err(ApiError::invalid_form(
                "_root",
                "ARRAY_TYPE_CONVERT",
                "Only iterables may be used in a ListType",
            ));
        };
        let mut wanted: HashMap<RoleId, i64> = HashMap::new();
        for item in items {
            let id = body::snowflake(item, "id")?.flatten().ok_or_else(|| {
                ApiError::invalid_form("id", "BASE_TYPE_REQUIRED", "This field is required")
            })?;
            if let Some(p) = body::integer(item, "position", 0, 10_000)? {
                wanted.insert(id, p);
            }
        }
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::MANAGE_ROLES)?;
        let top = World::top_position(g, actor);
        for (id, pos) in &wanted {
            let role = g.roles.get(id).ok_or_else(ApiError::unknown_role)?;
            if *id == gid {
                return Err(ApiError::invalid_role());
            }
            let moves = role.position != *pos;
            if moves
                && (!World::can_manage_role(g, actor, role) || (g.owner_id != actor && *pos >= top))
            {
                return Err(ApiError::missing_permissions());
            }
        }
        // Moved roles are inserted at their requested positions; the others keep their order.
        let mut order: Vec<RoleId> = g
            .sorted_roles()
            .iter()
            .filter(|r| r.id != gid && !wanted.contains_key(&r.id))
            .map(|r| r.id)
            .collect();
        let mut moved: Vec<(i64, RoleId)> = wanted.iter().map(|(id, p)| (*p, *id)).collect();
        moved.sort_unstable();
        for (pos, id) in moved {
            let idx = usize::try_from(pos.max(1) - 1)
                .unwrap_or(0)
                .min(order.len());
            order.insert(idx, id);
        }
        let before: HashMap<RoleId, i64> = g.roles.values().map(|r| (r.id, r.position)).collect();
        self.renumber_roles(gid, order, None);
        let g = self.world.guild(gid)?;
        let moved: Vec<(RoleId, i64, i64)> = g
            .roles
            .values()
            .filter(|r| wanted.contains_key(&r.id) && before.get(&r.id) != Some(&r.position))
            .map(|r| (r.id, before.get(&r.id).copied().unwrap_or(0), r.position))
            .collect();
        let out = Value::Array(g.sorted_roles().iter().map(|r| r.json()).collect());
        for (rid, old, new) in moved {
            self.audit(
                gid,
                actor,
                Some(rid),
                audit_action::ROLE_UPDATE,
                vec![AuditChange::new(
                    "position",
                    Some(json!(old)),
                    Some(json!(new)),
                )],
                None,
                reason,
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use crate::config::EmulatorConfig;
    use crate::state::State;

    fn world() -> (State, u64, u64) {
        let mut st = State::new(Arc::new(EmulatorConfig::unlimited()));
        let owner = st.create_user("owner", false);
        let g = st.create_guild(owner, "g");
        (st, owner, g)
    }

    fn order(st: &State, g: u64) -> Vec<String> {
        st.world.guilds[&g]
            .sorted_roles()
            .iter()
            .map(|r| r.name.clone())
            .collect()
    }

    #[test]
    fn new_roles_go_to_the_bottom_and_older_roles_win_position_ties() {
        let (mut st, owner, g) = world();
        for n in ["a", "b", "c"] {
            st.create_role(owner, g, &json!({ "name": n }), None)
                .expect("created");
        }
        assert_eq!(order(&st, g), ["@everyone", "c", "b", "a"]);
    }

    #[test]
    fn moving_a_role_places_it_at_the_requested_position_up_or_down() {
        let (mut st, owner, g) = world();
        let mut ids = Vec::new();
        for n in ["a", "b", "c"] {
            let r = st
                .create_role(owner, g, &json!({ "name": n }), None)
                .expect("created");
            ids.push(r["id"].as_str().expect("id").to_string());
        }
        // Normalize: a=1, b=2, c=3.
        let body = json!([{ "id": ids[0], "position": 1 }, { "id": ids[1], "position": 2 }, { "id": ids[2], "position": 3 }]);
        st.update_role_positions(owner, g, &body, None)
            .expect("moved");
        assert_eq!(order(&st, g), ["@everyone", "a", "b", "c"]);
        st.update_role_positions(owner, g, &json!([{ "id": ids[2], "position": 1 }]), None)
            .expect("down");
        assert_eq!(order(&st, g), ["@everyone", "c", "a", "b"]);
        st.update_role_positions(owner, g, &json!([{ "id": ids[2], "position": 3 }]), None)
            .expect("up");
        assert_eq!(order(&st, g), ["@everyone", "a", "b", "c"]);
    }
}
