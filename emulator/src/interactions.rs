//! Purpose: application commands (bulk register, list) and interactions: building
//! INTERACTION_CREATE for scripted slash commands, autocomplete, button clicks and modal
//! submits in guilds and DMs; callbacks (3-second deadline), follow-ups and `@original` edits.

use std::time::Instant;

use serde_json::{Map, Value, json};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::model::*;
use crate::ops_messages::MessageOrigin;
use crate::state::{Audience, Interaction, State, World, body};

/// Interaction types.
pub mod interaction_type {
    pub const PING: u8 = 1;
    pub const APPLICATION_COMMAND: u8 = 2;
    pub const MESSAGE_COMPONENT: u8 = 3;
    pub const AUTOCOMPLETE: u8 = 4;
    pub const MODAL_SUBMIT: u8 = 5;
}

fn valid_command_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=32).contains(&n)
        && name.chars().all(|c| {
            c.is_lowercase()
                || c.is_numeric()
                || c == '-'
                || c == '_'
                || (!c.is_ascii() && !c.is_uppercase())
        })
}

impl State {
    /// Validates and normalizes one command create request into a stored command object.
    fn build_command(
        &mut self,
        app: ApplicationId,
        guild: Option<GuildId>,
        b: &Value,
        existing: Option<&Value>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let kind = body::integer(b, "type", 1, 4)?.unwrap_or(1);
        let name = body::string(b, "name", 1, 32)?.flatten().ok_or_else(|| {
            ApiError::invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        if kind == 1 && !valid_command_name(&name) {
            return Err(ApiError::invalid_form(
                "name",
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            ));
        }
        let description = body::string(b, "description", 0, 100)?
            .flatten()
            .unwrap_or_default();
        if kind == 1 && description.is_empty() {
            return Err(ApiError::invalid_form(
                "description",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        let options = b
            .get("options")
            .cloned()
            .filter(|o| !o.is_null())
            .unwrap_or(json!([]));
        if !options.is_array() {
            return Err(ApiError::invalid_form(
                "options",
                "ARRAY_TYPE_CONVERT",
                "Only iterables may be used in a ListType",
            ));
        }
        if options.as_array().is_some_and(|o| o.len() > 25) {
            return Err(ApiError::invalid_form(
                "options",
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            ));
        }
        let dmp = body::permissions(b, "default_member_permissions")?;
        let id = match existing
            .and_then(|e| e["id"].as_str())
            .and_then(crate::snowflake::parse)
        {
            Some(id) => id,
            None => self.next_id(),
        };
        let version = self.next_id();
        let mut cmd = json!({
            "id": id.to_string(),
            "application_id": app.to_string(),
            "version": version.to_string(),
            "default_member_permissions": dmp.map(|p| p.to_string()),
            "type": kind,
            "name": name,
            "name_localizations": b.get("name_localizations").cloned().filter(Value::is_object),
            "description": description,
            "description_localizations": b.get("description_localizations").cloned().filter(Value::is_object),
            "nsfw": body::boolean(b, "nsfw")?.unwrap_or(false),
            "options": strip_nulls(&options),
        });
        match guild {
            Some(g) => cmd["guild_id"] = json!(g.to_string()),
            None => {
                let contexts = b.get("contexts").cloned().filter(|c| c.is_array());
                let dm_permission = body::boolean(b, "dm_permission")?;
                cmd["dm_permission"] = json!(dm_permission.unwrap_or(true));
                cmd["contexts"] = contexts.unwrap_or_else(|| {
                    if dm_permission == Some(false) {
                        json!([0])
                    } else {
                        json!([0, 1, 2])
                    }
                });
                cmd["integration_types"] = b
                    .get("integration_types")
                    .cloned()
                    .filter(|c| c.is_array())
                    .unwrap_or(json!([0]));
            }
        }
        Ok(cmd)
    }

    fn check_app(&self, actor: UserId, app: ApplicationId) -> Result<(), ApiError> {
        match self.world.apps.get(&app) {
            Some(a) if a.bot_user_id == actor => Ok(()),
            Some(_) => Err(ApiError::missing_access()),
            None => Err(ApiError::unknown_application()),
        }
    }

    /// `PUT /applications/{application_id}[/guilds/{guild_id}]/commands` (bulk overwrite).
    pub fn put_commands(
        &mut self,
        actor: UserId,
        app: ApplicationId,
        guild: Option<GuildId>,
        b: &Value,
    ) -> Result<Value, ApiError> {
        self.check_app(actor, app)?;
        let Some(items) = b.as_array() else {
            return Err(ApiError::invalid_form(
                "_root",
                "ARRAY_TYPE_CONVERT",
                "Only iterables may be used in a ListType",
            ));
        };
        if items.len() > 100 {
            return Err(ApiError::new(
                400,
                30032,
                "Maximum number of application commands reached (100)",
            ));
        }
        if let Some(g) = guild {
            let g = self.world.guild(g)?;
            if !g.members.contains_key(&actor) {
                return Err(ApiError::missing_access());
            }
        }
        let existing = match guild {
            Some(g) => self
                .world
                .apps
                .get(&app)
                .and_then(|a| a.guild_commands.get(&g))
                .cloned()
                .unwrap_or_default(),
            None => self
                .world
                .apps
                .get(&app)
                .map(|a| a.global_commands.clone())
                .unwrap_or_default(),
        };
        let mut out: Vec<Value> = Vec::new();
        for item in items {
            let prev = existing.iter().find(|c| {
                c["name"] == item["name"]
                    && c["type"].as_u64().unwrap_or(1)
                        == item.get("type").and_then(Value::as_u64).unwrap_or(1)
            });
            let cmd = self.build_command(app, guild, item, prev)?;
            if out
                .iter()
                .any(|c| c["name"] == cmd["name"] && c["type"] == cmd["type"])
            {
                return Err(ApiError::invalid_form(
                    "name",
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                ));
            }
            out.push(cmd);
        }
        let a = self
            .world
            .apps
            .get_mut(&app)
            .ok_or_else(ApiError::unknown_application)?;
        match guild {
            Some(g) => {
                a.guild_commands.insert(g, out.clone());
            }
            None => a.global_commands = out.clone(),
        }
        Ok(Value::Array(out))
    }

    /// `POST /applications/{application_id}[/guilds/{guild_id}]/commands` (upsert one).
    /// Returns the command and whether it was new (201) or replaced (200).
    pub fn post_command(
        &mut self,
        actor: UserId,
        app: ApplicationId,
        guild: Option<GuildId>,
        b: &Value,
    ) -> Result<(Value, bool), ApiError> {
        self.check_app(actor, app)?;
        let existing = self.commands(app, guild);
        let prev = existing.iter().find(|c| c["name"] == b["name"]).cloned();
        let cmd = self.build_command(app, guild, b, prev.as_ref())?;
        let a = self
            .world
            .apps
            .get_mut(&app)
            .ok_or_else(ApiError::unknown_application)?;
        let list = match guild {
            Some(g) => a.guild_commands.entry(g).or_default(),
            None => &mut a.global_commands,
        };
        list.retain(|c| c["id"] != cmd["id"]);
        list.push(cmd.clone());
        Ok((cmd, prev.is_none()))
    }

    /// `DELETE /applications/{application_id}[/guilds/{guild_id}]/commands/{command_id}`.
    pub fn delete_command(
        &mut self,
        actor: UserId,
        app: ApplicationId,
        guild: Option<GuildId>,
        id: u64,
    ) -> Result<(), ApiError> {
        self.check_app(actor, app)?;
        let a = self
            .world
            .apps
            .get_mut(&app)
            .ok_or_else(ApiError::unknown_application)?;
        let list = match guild {
            Some(g) => a.guild_commands.entry(g).or_default(),
            None => &mut a.global_commands,
        };
        let before = list.len();
        let ids = id.to_string();
        list.retain(|c| c["id"].as_str() != Some(ids.as_str()));
        if list.len() == before {
            Err(ApiError::unknown_command())
        } else {
            Ok(())
        }
    }

    /// Registered commands of an app (global or one guild's).
    pub fn commands(&self, app: ApplicationId, guild: Option<GuildId>) -> Vec<Value> {
        let Some(a) = self.world.apps.get(&app) else {
            return Vec::new();
        };
        match guild {
            Some(g) => a.guild_commands.get(&g).cloned().unwrap_or_default(),
            None => a.global_commands.clone(),
        }
    }

    /// The guild channel JSON plus `permissions` for `user`, or the DM JSON.
    fn interaction_channel(&self, channel: ChannelId, user: UserId) -> Result<Value, ApiError> {
        if self.world.dms.contains_key(&channel) {
            return self.dm_json(channel, user);
        }
        let gid = self.world.channel_guild_id(channel)?;
        let g = self.world.guild(gid)?;
        let ch = g
            .channels
            .get(&channel)
            .ok_or_else(ApiError::unknown_channel)?;
        let mut v = ch.json();
        v["permissions"] = json!(World::channel_permissions(g, ch, user).to_string());
        Ok(v)
    }

    /// Builds, registers and dispatches an interaction; returns its id.
    #[allow(clippy::too_many_arguments)]
    fn start_interaction(
        &mut self,
        app_id: ApplicationId,
        kind: u8,
        user: UserId,
        guild: Option<GuildId>,
        channel: ChannelId,
        name: String,
        data: Value,
        message: Option<MessageId>,
        locale: &str,
    ) -> Result<InteractionId, ApiError> {
        let app = self
            .world
            .apps
            .get(&app_id)
            .ok_or_else(ApiError::unknown_application)?
            .clone();
        let id = self.next_id();
        let token = format!("aW50ZXJhY3Rpb246{id}:{}", Self::random_token(48));
        let u = self.world.user(user)?.clone();
        let mut d = json!({
            "id": id.to_string(),
            "application_id": app_id.to_string(),
            "type": kind,
            "data": data,
            "channel_id": channel.to_string(),
            "channel": self.interaction_channel(channel, user)?,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        });
        match guild {
            Some(gid) => {
                let g = self.world.guild(gid)?;
                if !g.members.contains_key(&app.bot_user_id) {
                    return Err(ApiError::new(404, 10002, "Unknown Application"));
                }
                let ch = g
                    .channels
                    .get(&channel)
                    .ok_or_else(ApiError::unknown_channel)?;
                let mut member = self
                    .member_json(g, user)
                    .ok_or_else(ApiError::unknown_member)?;
                member["permissions"] = json!(World::channel_permissions(g, ch, user).to_string());
                d["guild_id"] = json!(gid.to_string());
                d["guild"] = json!({ "id": gid.to_string(), "locale": g.settings.preferred_locale, "features": g.settings.features });
                d["guild_locale"] = json!(g.settings.preferred_locale);
                d["member"] = member;
                d["app_permissions"] =
                    json!(World::channel_permissions(g, ch, app.bot_user_id).to_string());
                d["authorizing_integration_owners"] = json!({ "0": gid.to_string() });
                d["context"] = json!(0);
            }
            None => {
                d["user"] = u.json();
                d["app_permissions"] = json!(crate::permissions::DEFAULT_EVERYONE.to_string());
                d["authorizing_integration_owners"] = json!({ "0": "0" });
                d["context"] = json!(1);
            }
        }
        if let Some(m) = message.and_then(|m| self.world.messages.get(&m)) {
            d["message"] = self.message_json(m);
        }
        let (tx, _rx) = watch::channel(0u64);
        self.world.interaction_tokens.insert(token.clone(), id);
        self.world.interactions.insert(
            id,
            Interaction {
                id,
                token,
                app_id,
                kind,
                user_id: user,
                guild_id: guild,
                channel_id: channel,
                name,
                created: Instant::now(),
                payload: d.clone(),
                response: None,
                expired: false,
                original_message: None,
                followups: Vec::new(),
                source_message: message,
                version: tx,
            },
        );
        self.emit(
            Audience::App(app_id, guild),
            "INTERACTION_CREATE",
            &d,
            Some(id),
        );
        Ok(id)
    }

    /// The default channel for a scripted interaction in a guild.
    fn default_channel(&self, gid: GuildId) -> Result<ChannelId, ApiError> {
        let g = self.world.guild(gid)?;
        if let Some(c) = g
            .settings
            .system_channel_id
            .filter(|c| g.channels.contains_key(c))
        {
            return Ok(c);
        }
        g.sorted_channels()
            .iter()
            .find(|c| c.kind == channel_type::GUILD_TEXT)
            .map(|c| c.id)
            .ok_or_else(ApiError::unknown_channel)
    }

    /// Finds the command named `name` visible in the context; returns (app, command).
    fn find_command(
        &self,
        app: Option<ApplicationId>,
        guild: Option<GuildId>,
        name: &str,
    ) -> Result<(ApplicationId, Value), ApiError> {
        let mut found = Vec::new();
        for a in self.world.apps.values() {
            if app.is_some_and(|x| x != a.id) {
                continue;
            }
            let mut cmds: Vec<&Value> = Vec::new();
            if let Some(g) = guild
                && let Some(list) = a.guild_commands.get(&g)
            {
                cmds.extend(list.iter());
            }
            cmds.extend(a.global_commands.iter());
            if let Some(c) = cmds
                .into_iter()
                .find(|c| c["name"] == name && c["type"].as_u64().unwrap_or(1) == 1)
            {
                found.push((a.id, c.clone()));
            }
        }
        match found.len() {
            0 => Err(ApiError::unknown_command()),
            1 => Ok(found.remove(0)),
            _ => Err(ApiError::new(
                400,
                0,
                format!(
                    "command /{name} is registered by several applications; pass the application"
                ),
            )),
        }
    }

    /// Checks that `user` could see and use `cmd` in the context (default_member_permissions,
    /// DM contexts).
    fn check_command_visible(
        &self,
        cmd: &Value,
        user: UserId,
        guild: Option<GuildId>,
    ) -> Result<(), ApiError> {
        match guild {
            Some(gid) => {
                let g = self.world.guild(gid)?;
                if !g.members.contains_key(&user) {
                    return Err(ApiError::unknown_member());
                }
                if let Some(p) = cmd["default_member_permissions"]
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    let have = World::base_permissions(g, user);
                    if have & p != p {
                        return Err(ApiError::missing_permissions());
                    }
                }
            }
            None => {
                let dm_ok = cmd.get("guild_id").is_none()
                    && cmd["contexts"]
                        .as_array()
                        .is_none_or(|c| c.iter().any(|x| x.as_u64() == Some(1)))
                    && cmd["dm_permission"].as_bool() != Some(false);
                if !dm_ok {
                    return Err(ApiError::new(
                        400,
                        50001,
                        "This command is not available in DMs",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Resolves scripted option values against the registered option definitions.
    fn resolve_options(
        &self,
        defs: &[Value],
        given: &Map<String, Value>,
        guild: Option<GuildId>,
        focused: Option<&str>,
        resolved: &mut Map<String, Value>,
    ) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        for (name, value) in given {
            let def = defs
                .iter()
                .find(|d| d["name"].as_str() == Some(name.as_str()))
                .ok_or_else(|| {
                    ApiError::invalid_form(
                        "options",
                        "UNKNOWN_OPTION",
                        format!("unknown option {name}"),
                    )
                })?;
            let t = def["type"].as_u64().unwrap_or(3);
            let id_of = |v: &Value| -> Result<u64, ApiError> {
                match v {
                    Value::String(s) => crate::snowflake::parse(s),
                    Value::Number(n) => n.as_u64(),
                    _ => None,
                }
                .ok_or_else(|| {
                    ApiError::invalid_form(name, "NUMBER_TYPE_COERCE", "Value is not snowflake.")
                })
            };
            let v = match t {
                3 => json!(
                    value
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| value.to_string())
                ),
                4 => json!(
                    value
                        .as_i64()
                        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
                        .ok_or_else(|| ApiError::invalid_form(
                            name,
                            "NUMBER_TYPE_COERCE",
                            "Value is not int."
                        ))?
                ),
                10 => json!(
                    value
                        .as_f64()
                        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
                        .ok_or_else(|| ApiError::invalid_form(
                            name,
                            "NUMBER_TYPE_COERCE",
                            "Value is not a number."
                        ))?
                ),
                5 => json!(value.as_bool().ok_or_else(|| ApiError::invalid_form(
                    name,
                    "BOOLEAN_TYPE_CONVERT",
                    "Must be either true or false."
                ))?),
                6 | 9 => {
                    let id = id_of(value)?;
                    if let (9, Some(r)) = (
                        t,
                        guild
                            .and_then(|g| self.world.guilds.get(&g))
                            .and_then(|g| g.roles.get(&id)),
                    ) {
                        resolved.entry("roles").or_insert_with(|| json!({}))[id.to_string()] =
                            r.json();
                    } else {
                        let u = self.world.user(id)?;
                        resolved.entry("users").or_insert_with(|| json!({}))[id.to_string()] =
                            u.json();
                        if let Some(g) = guild.and_then(|g| self.world.guilds.get(&g))
                            && let Some(mut m) = self.member_json(g, id)
                        {
                            if let Some(o) = m.as_object_mut() {
                                o.remove("user");
                            }
                            m["permissions"] = json!(World::base_permissions(g, id).to_string());
                            resolved.entry("members").or_insert_with(|| json!({}))
                                [id.to_string()] = m;
                        }
                    }
                    json!(id.to_string())
                }
                7 => {
                    let id = id_of(value)?;
                    let g = guild
                        .and_then(|g| self.world.guilds.get(&g))
                        .ok_or_else(ApiError::unknown_channel)?;
                    let ch = g.channels.get(&id).ok_or_else(ApiError::unknown_channel)?;
                    let mut cj = json!({ "id": id.to_string(), "name": ch.name, "type": ch.kind, "parent_id": id_or_null(ch.parent_id) });
                    cj["permissions"] = json!(World::channel_permissions(g, ch, 0).to_string());
                    resolved.entry("channels").or_insert_with(|| json!({}))[id.to_string()] = cj;
                    json!(id.to_string())
                }
                8 => {
                    let id = id_of(value)?;
                    let g = guild
                        .and_then(|g| self.world.guilds.get(&g))
                        .ok_or_else(ApiError::unknown_role)?;
                    let r = g.roles.get(&id).ok_or_else(ApiError::unknown_role)?;
                    resolved.entry("roles").or_insert_with(|| json!({}))[id.to_string()] = r.json();
                    json!(id.to_string())
                }
                11 => {
                    let id = id_of(value)?;
                    let a = self.world.uploads.get(&id).ok_or_else(|| {
                        ApiError::invalid_form(
                            name,
                            "ATTACHMENT_NOT_FOUND",
                            "Unknown attachment; use upload_attachment first",
                        )
                    })?;
                    resolved.entry("attachments").or_insert_with(|| json!({}))[id.to_string()] =
                        a.json(&self.base_url, 0);
                    json!(id.to_string())
                }
                _ => value.clone(),
            };
            let mut opt = json!({ "name": name, "type": t, "value": v });
            if focused == Some(name.as_str()) {
                opt["focused"] = json!(true);
            }
            out.push(opt);
        }
        for d in defs {
            let required = d["required"].as_bool().unwrap_or(false);
            let name = d["name"].as_str().unwrap_or_default();
            if required && !given.contains_key(name) && focused.is_none() {
                return Err(ApiError::invalid_form(
                    "options",
                    "REQUIRED_OPTION",
                    format!("missing required option {name}"),
                ));
            }
        }
        Ok(out)
    }

    /// Scripted slash command (or autocomplete when `focused` is set); returns the interaction.
    #[allow(clippy::too_many_arguments)]
    pub fn invoke_command(
        &mut self,
        app: Option<ApplicationId>,
        user: UserId,
        guild: Option<GuildId>,
        channel: Option<ChannelId>,
        command: &str,
        options: &Value,
        locale: &str,
        focused: Option<&str>,
    ) -> Result<InteractionId, ApiError> {
        let words: Vec<&str> = command
            .trim()
            .trim_start_matches('/')
            .split_whitespace()
            .collect();
        let Some(root) = words.first() else {
            return Err(ApiError::unknown_command());
        };
        let (app_id, cmd) = self.find_command(app, guild, root)?;
        self.check_command_visible(&cmd, user, guild)?;
        let given = options.as_object().cloned().unwrap_or_default();
        let mut resolved = Map::new();
        let mut defs: Vec<Value> = cmd["options"].as_array().cloned().unwrap_or_default();
        let mut path: Vec<(String, u8)> = Vec::new();
        for w in &words[1..] {
            let def = defs
                .iter()
                .find(|d| {
                    d["name"].as_str() == Some(*w) && matches!(d["type"].as_u64(), Some(1 | 2))
                })
                .cloned()
                .ok_or_else(|| {
                    ApiError::invalid_form(
                        "options",
                        "UNKNOWN_SUBCOMMAND",
                        format!("unknown subcommand {w}"),
                    )
                })?;
            path.push((w.to_string(), def["type"].as_u64().unwrap_or(1) as u8));
            defs = def["options"].as_array().cloned().unwrap_or_default();
        }
        if defs
            .iter()
            .any(|d| matches!(d["type"].as_u64(), Some(1 | 2)))
        {
            return Err(ApiError::invalid_form(
                "options",
                "SUBCOMMAND_REQUIRED",
                "a subcommand is required",
            ));
        }
        let leaf = self.resolve_options(&defs, &given, guild, focused, &mut resolved)?;
        let mut opts = leaf;
        for (name, t) in path.iter().rev() {
            opts = vec![json!({ "name": name, "type": t, "options": opts })];
        }
        let mut data = json!({ "id": cmd["id"], "name": cmd["name"], "type": 1 });
        if !opts.is_empty() {
            data["options"] = Value::Array(opts);
        }
        if !resolved.is_empty() {
            data["resolved"] = Value::Object(resolved);
        }
        if let Some(g) = guild {
            data["guild_id"] = json!(g.to_string());
        }
        let channel = match (guild, channel) {
            (_, Some(c)) => c,
            (Some(g), None) => self.default_channel(g)?,
            (None, None) => {
                let bot = self
                    .world
                    .apps
                    .get(&app_id)
                    .map(|a| a.bot_user_id)
                    .ok_or_else(ApiError::unknown_application)?;
                let dm = self.create_dm(user, bot)?;
                dm["id"]
                    .as_str()
                    .and_then(crate::snowflake::parse)
                    .ok_or_else(ApiError::unknown_channel)?
            }
        };
        let kind = if focused.is_some() {
            interaction_type::AUTOCOMPLETE
        } else {
            interaction_type::APPLICATION_COMMAND
        };
        self.start_interaction(
            app_id,
            kind,
            user,
            guild,
            channel,
            command.trim().to_string(),
            data,
            None,
            locale,
        )
    }

    /// Scripted click on a button (or selection in a select menu) of a message.
    pub fn click_component(
        &mut self,
        user: UserId,
        message: MessageId,
        custom_id: &str,
        values: Option<Vec<String>>,
        locale: &str,
    ) -> Result<InteractionId, ApiError> {
        let m = self
            .world
            .messages
            .get(&message)
            .filter(|m| !m.deleted)
            .ok_or_else(ApiError::unknown_message)?;
        // Components route to the application behind the message (its author for plain bot
        // messages, which carry no application_id).
        let app_id = m
            .application_id
            .or_else(|| self.world.app_by_bot.get(&m.author_id).copied())
            .ok_or_else(|| ApiError::new(400, 0, "message was not sent by an application"))?;
        let comp = find_component(&m.components, custom_id).ok_or_else(|| {
            ApiError::new(400, 0, format!("no component with custom_id {custom_id}"))
        })?;
        if comp["disabled"].as_bool() == Some(true) {
            return Err(ApiError::new(
                400,
                0,
                format!("component {custom_id} is disabled"),
            ));
        }
        let ctype = comp["type"].as_u64().unwrap_or(2);
        if m.ephemeral() && m.interaction.as_ref().is_some_and(|i| i.user_id != user) {
            return Err(ApiError::new(
                400,
                0,
                "an ephemeral message is only visible to its user",
            ));
        }
        let (guild, channel) = (m.guild_id, m.channel_id);
        let mut data = json!({ "custom_id": custom_id, "component_type": ctype });
        if ctype != 2 {
            data["values"] = json!(values.unwrap_or_default());
        }
        self.start_interaction(
            app_id,
            interaction_type::MESSAGE_COMPONENT,
            user,
            guild,
            channel,
            custom_id.to_string(),
            data,
            Some(message),
            locale,
        )
    }

    /// Scripted modal submit answering the modal of interaction `from`.
    pub fn submit_modal(
        &mut self,
        user: UserId,
        from: InteractionId,
        values: &[(String, String)],
        locale: &str,
    ) -> Result<InteractionId, ApiError> {
        let i = self
            .world
            .interactions
            .get(&from)
            .ok_or_else(ApiError::unknown_interaction)?;
        let Some((9, modal)) = i.response.clone() else {
            return Err(ApiError::new(
                400,
                0,
                "the interaction was not answered with a modal",
            ));
        };
        let custom_id = modal["custom_id"].as_str().unwrap_or_default().to_string();
        let mut rows = Vec::new();
        for row in modal["components"].as_array().cloned().unwrap_or_default() {
            let mut comps = Vec::new();
            for c in row["components"].as_array().cloned().unwrap_or_default() {
                let cid = c["custom_id"].as_str().unwrap_or_default().to_string();
                let value = values
                    .iter()
                    .find(|(k, _)| *k == cid)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                comps.push(
                    json!({ "type": 4, "id": c["id"].clone(), "custom_id": cid, "value": value }),
                );
            }
            rows.push(json!({ "type": 1, "id": row["id"].clone(), "components": comps }));
        }
        let data = json!({ "custom_id": custom_id, "components": rows });
        let (app, guild, channel, source) = (i.app_id, i.guild_id, i.channel_id, i.source_message);
        self.start_interaction(
            app,
            interaction_type::MODAL_SUBMIT,
            user,
            guild,
            channel,
            custom_id,
            data,
            source,
            locale,
        )
    }

    /// Looks an interaction up by id and token (Unknown Interaction if they don't match).
    fn interaction_by(
        &self,
        id: Option<InteractionId>,
        token: &str,
    ) -> Result<InteractionId, ApiError> {
        let found = self
            .world
            .interaction_tokens
            .get(token)
            .copied()
            .ok_or_else(ApiError::unknown_interaction)?;
        if id.is_some_and(|i| i != found) {
            return Err(ApiError::unknown_interaction());
        }
        Ok(found)
    }

    fn token_alive(&self, i: &Interaction) -> bool {
        i.created.elapsed() < self.config.interaction_token_ttl
    }

    /// Marks interactions whose initial-response deadline passed.
    pub fn expire_interactions(&mut self) {
        let deadline = self.config.interaction_deadline;
        for i in self.world.interactions.values_mut() {
            if i.response.is_none() && !i.expired && i.created.elapsed() > deadline {
                i.expired = true;
                i.bump();
            }
        }
    }

    /// `POST /interactions/{id}/{token}/callback`. Returns the callback response body when
    /// `with_response` is set.
    pub fn interaction_callback(
        &mut self,
        id: InteractionId,
        token: &str,
        b: &Value,
        files: Vec<crate::ops_messages::UploadedFile>,
        with_response: bool,
    ) -> Result<Option<Value>, ApiError> {
        body::require_object(b)?;
        let iid = self.interaction_by(Some(id), token)?;
        self.expire_interactions();
        let i = self
            .world
            .interactions
            .get(&iid)
            .ok_or_else(ApiError::unknown_interaction)?;
        if i.expired || i.created.elapsed() > self.config.interaction_deadline {
            return Err(ApiError::unknown_interaction());
        }
        if i.response.is_some() {
            return Err(ApiError::already_acknowledged());
        }
        let t = body::integer(b, "type", 1, 13)?.ok_or_else(|| {
            ApiError::invalid_form("type", "BASE_TYPE_REQUIRED", "This field is required")
        })? as u8;
        let data = b.get("data").cloned().unwrap_or(Value::Null);
        let ikind = i.kind;
        let from_component = ikind == interaction_type::MESSAGE_COMPONENT
            || (ikind == interaction_type::MODAL_SUBMIT && i.source_message.is_some());
        let valid = match t {
            1 => ikind == interaction_type::PING,
            4 | 5 => matches!(ikind, 2 | 3 | 5),
            6 | 7 => from_component,
            8 => ikind == interaction_type::AUTOCOMPLETE,
            9 => matches!(ikind, 2 | 3),
            _ => false,
        };
        if !valid {
            return Err(ApiError::invalid_form(
                "type",
                "INTERACTION_RESPONSE_TYPE_INVALID",
                "Interaction response type is invalid for this interaction",
            ));
        }
        if t == 9 {
            let title = body::string(&data, "title", 1, 45)?;
            let cid = body::string(&data, "custom_id", 1, 100)?;
            if title.flatten().is_none() || cid.flatten().is_none() {
                return Err(ApiError::invalid_form(
                    "data",
                    "BASE_TYPE_REQUIRED",
                    "A modal needs custom_id and title",
                ));
            }
        }
        let (app, channel, user, name, source) = (
            i.app_id,
            i.channel_id,
            i.user_id,
            i.name.clone(),
            i.source_message,
        );
        let bot = self
            .world
            .apps
            .get(&app)
            .map(|a| a.bot_user_id)
            .unwrap_or_default();
        let origin = MessageOrigin {
            author_id: bot,
            webhook_id: Some(app),
            application_id: Some(app),
            interaction: Some(MessageInteractionInfo {
                id: iid,
                kind: ikind,
                name: name.clone(),
                user_id: user,
                interacted_message_id: source,
            }),
            kind: if ikind == interaction_type::APPLICATION_COMMAND {
                20
            } else {
                19
            },
        };
        let mut message_json = None;
        let mut original = None;
        let mut stored = data.clone();
        match t {
            4 => {
                let parts = self.parse_message(&data, files)?;
                let mj = self.insert_message(channel, origin, parts)?;
                original = mj["id"].as_str().and_then(crate::snowflake::parse);
                message_json = Some(mj);
            }
            5 => {
                let flags = data.get("flags").and_then(Value::as_u64).unwrap_or(0) & 64;
                let id = self.next_id();
                let guild_id = self.world.channel_guild.get(&channel).copied();
                let msg = Message {
                    id,
                    channel_id: channel,
                    guild_id,
                    author_id: bot,
                    content: String::new(),
                    embeds: Vec::new(),
                    components: Vec::new(),
                    attachments: Vec::new(),
                    flags: flags | 128,
                    kind: origin.kind,
                    timestamp: chrono::Utc::now(),
                    edited_timestamp: None,
                    webhook_id: origin.webhook_id,
                    application_id: origin.application_id,
                    interaction: origin.interaction,
                    deleted: false,
                    pinned_at: None,
                    webhook_author: None,
                };
                let mj = self.message_json(&msg);
                self.world
                    .channel_messages
                    .entry(channel)
                    .or_default()
                    .push(id);
                self.world.messages.insert(id, msg);
                original = Some(id);
                message_json = Some(mj);
            }
            6 => original = source,
            7 => {
                let source = source.ok_or_else(ApiError::unknown_message)?;
                let parts = self.parse_message(&data, files)?;
                message_json = Some(self.edit_message(source, parts)?);
                original = Some(source);
            }
            9 => {
                stored = json!({
                    "custom_id": data["custom_id"],
                    "title": data["title"],
                    "components": normalize_components(&data["components"]),
                });
            }
            _ => {}
        }
        let i = self
            .world
            .interactions
            .get_mut(&iid)
            .ok_or_else(ApiError::unknown_interaction)?;
        i.response = Some((t, stored));
        if original.is_some() {
            i.original_message = original;
        }
        i.bump();
        if !with_response {
            return Ok(None);
        }
        let mut inter =
            json!({ "id": iid.to_string(), "type": ikind, "channel_id": channel.to_string() });
        if let Some(g) = i.guild_id {
            inter["guild_id"] = json!(g.to_string());
        }
        if let Some(m) = &message_json {
            inter["response_message_id"] = m["id"].clone();
            inter["response_message_loading"] = json!(t == 5);
            inter["response_message_ephemeral"] = json!(m["flags"].as_u64().unwrap_or(0) & 64 != 0);
        }
        let mut out = json!({ "interaction": inter });
        if let (Some(m), 4 | 7) = (message_json, t) {
            out["resource"] = json!({ "type": t, "message": m });
        }
        Ok(Some(out))
    }

    /// Resolves an interaction webhook (application id + interaction token) or None.
    pub fn interaction_webhook(&self, app: ApplicationId, token: &str) -> Option<InteractionId> {
        let id = self.world.interaction_tokens.get(token).copied()?;
        let i = self.world.interactions.get(&id)?;
        (i.app_id == app).then_some(id)
    }

    /// `POST /webhooks/{application_id}/{interaction_token}` (follow-up).
    pub fn followup(
        &mut self,
        iid: InteractionId,
        b: &Value,
        files: Vec<crate::ops_messages::UploadedFile>,
    ) -> Result<Value, ApiError> {
        let i = self
            .world
            .interactions
            .get(&iid)
            .ok_or_else(ApiError::unknown_webhook)?;
        if !self.token_alive(i) || i.response.is_none() {
            return Err(ApiError::unknown_webhook());
        }
        let (app, channel, user, name, kind, source, original) = (
            i.app_id,
            i.channel_id,
            i.user_id,
            i.name.clone(),
            i.kind,
            i.source_message,
            i.original_message,
        );
        let parts = self.parse_message(b, files)?;
        // After a deferred response the first follow-up replaces the loading message.
        if let Some(o) = original.filter(|o| {
            self.world
                .messages
                .get(o)
                .is_some_and(|m| m.flags & 128 != 0 && !m.deleted)
        }) {
            let mj = self.edit_message(o, parts)?;
            if let Some(i) = self.world.interactions.get(&iid) {
                i.bump();
            }
            return Ok(mj);
        }
        let bot = self
            .world
            .apps
            .get(&app)
            .map(|a| a.bot_user_id)
            .unwrap_or_default();
        let origin = MessageOrigin {
            author_id: bot,
            webhook_id: Some(app),
            application_id: Some(app),
            interaction: Some(MessageInteractionInfo {
                id: iid,
                kind,
                name,
                user_id: user,
                interacted_message_id: source,
            }),
            kind: 0,
        };
        let mj = self.insert_message(channel, origin, parts)?;
        let mid = mj["id"].as_str().and_then(crate::snowflake::parse);
        if let (Some(i), Some(m)) = (self.world.interactions.get_mut(&iid), mid) {
            i.followups.push(m);
            i.bump();
        }
        Ok(mj)
    }

    /// The message id behind `@original` or a follow-up id of an interaction.
    pub fn interaction_message(
        &self,
        iid: InteractionId,
        message: Option<MessageId>,
    ) -> Result<MessageId, ApiError> {
        let i = self
            .world
            .interactions
            .get(&iid)
            .ok_or_else(ApiError::unknown_webhook)?;
        if !self.token_alive(i) {
            return Err(ApiError::unknown_webhook());
        }
        match message {
            None => i
                .original_message
                .filter(|m| self.world.messages.get(m).is_some_and(|m| !m.deleted))
                .ok_or_else(ApiError::unknown_message),
            Some(m) if i.original_message == Some(m) || i.followups.contains(&m) => Ok(m),
            Some(_) => Err(ApiError::unknown_message()),
        }
    }

    /// `PATCH /webhooks/{application_id}/{token}/messages/{@original|id}`.
    pub fn edit_interaction_message(
        &mut self,
        iid: InteractionId,
        message: Option<MessageId>,
        b: &Value,
        files: Vec<crate::ops_messages::UploadedFile>,
    ) -> Result<Value, ApiError> {
        let mid = self.interaction_message(iid, message)?;
        let parts = self.parse_message(b, files)?;
        let mj = self.edit_message(mid, parts)?;
        if let Some(i) = self.world.interactions.get(&iid) {
            i.bump();
        }
        Ok(mj)
    }

    /// `DELETE /webhooks/{application_id}/{token}/messages/{@original|id}`.
    pub fn delete_interaction_message(
        &mut self,
        iid: InteractionId,
        message: Option<MessageId>,
    ) -> Result<(), ApiError> {
        let mid = self.interaction_message(iid, message)?;
        self.remove_message(mid)?;
        if let Some(i) = self.world.interactions.get(&iid) {
            i.bump();
        }
        Ok(())
    }
}

/// Removes `null` members recursively (Discord omits unset option fields).
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// Finds a component by custom_id anywhere in a component tree.
pub fn find_component<'a>(components: &'a [Value], custom_id: &str) -> Option<&'a Value> {
    for c in components {
        if c["custom_id"].as_str() == Some(custom_id) {
            return Some(c);
        }
        if let Some(children) = c["components"].as_array()
            && let Some(found) = find_component(children, custom_id)
        {
            return Some(found);
        }
        if let Some(acc) = c.get("accessory").filter(|a| a.is_object())
            && acc["custom_id"].as_str() == Some(custom_id)
        {
            return Some(acc);
        }
    }
    None
}
