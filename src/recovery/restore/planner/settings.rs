//! Purpose: the planner's guild settings — the fields that differ, with snapshot channel ids
//! mapped to live ones.

use super::super::model::{
    Action, Component, Kind, Ref, SettingsFields, SkipReason, Skipped, Warning,
};
use super::*;

impl<'a> Planner<'a> {
    pub(super) fn settings(&mut self) -> Vec<Action> {
        if !self.has(Component::Settings) {
            return Vec::new();
        }
        let Some(cur) = self.cur.settings.as_ref() else {
            return Vec::new();
        };
        let s = &self.doc.settings;
        let mut f = SettingsFields::default();
        if s.name != cur.name {
            f.name = Some(s.name.clone());
        }
        if s.description != cur.description {
            f.description = Some(s.description.clone());
        }
        if s.verification_level != cur.verification_level {
            f.verification_level = Some(s.verification_level);
        }
        if s.default_message_notifications != cur.default_message_notifications {
            f.default_message_notifications = Some(s.default_message_notifications);
        }
        if s.explicit_content_filter != cur.explicit_content_filter {
            f.explicit_content_filter = Some(s.explicit_content_filter);
        }
        if s.afk_timeout != cur.afk_timeout {
            f.afk_timeout = Some(s.afk_timeout);
        }
        if s.system_channel_flags != cur.system_channel_flags {
            f.system_channel_flags = Some(s.system_channel_flags);
        }
        if s.preferred_locale != cur.preferred_locale {
            f.preferred_locale = Some(s.preferred_locale.clone());
        }
        if s.premium_progress_bar_enabled != cur.premium_progress_bar_enabled {
            f.premium_progress_bar_enabled = Some(s.premium_progress_bar_enabled);
        }
        let mut missing = 0usize;
        let mut channel =
            |wanted: Option<u32>, now: Option<u64>, this: &Self| -> Option<Option<Ref>> {
                match wanted {
                    None => now.is_some().then_some(None),
                    Some(l) => match this.channel_ref(l) {
                        None => {
                            missing += 1;
                            None
                        }
                        Some(r) => {
                            let live = this.channel_live.get(&l).copied();
                            (live.is_none() || live != now).then_some(Some(r))
                        }
                    },
                }
            };
        f.afk_channel = channel(s.afk_channel, cur.afk_channel_id, self);
        f.system_channel = channel(s.system_channel, cur.system_channel_id, self);
        f.rules_channel = channel(s.rules_channel, cur.rules_channel_id, self);
        f.public_updates_channel = channel(
            s.public_updates_channel,
            cur.public_updates_channel_id,
            self,
        );
        f.safety_alerts_channel =
            channel(s.safety_alerts_channel, cur.safety_alerts_channel_id, self);
        self.missing_targets += missing;
        let mut not_restorable = Vec::new();
        // Pictures: the image the snapshot kept (format 2), or none; a version-1 snapshot
        // kept no image and knows no discovery splash.
        let v2 = self.doc.format_version >= 2;
        for (field, key, then, now) in [
            ("icon", "guild.icon", &s.icon, &cur.icon),
            ("banner", "guild.banner", &s.banner, &cur.banner),
            ("splash", "guild.splash", &s.splash, &cur.splash),
            (
                "discovery_splash",
                "guild.discovery_splash",
                &s.discovery_splash,
                &cur.discovery_splash,
            ),
        ] {
            if then == now || (!v2 && field == "discovery_splash") {
                continue;
            }
            match self.picture(key, then).filter(|_| v2) {
                Some(image) => match field {
                    "icon" => f.icon = Some(image),
                    "banner" => f.banner = Some(image),
                    "splash" => f.splash = Some(image),
                    _ => f.discovery_splash = Some(image),
                },
                None => not_restorable.push(field),
            }
        }
        if s.mfa_level != cur.mfa_level {
            not_restorable.push("mfa_level");
        }
        let mut features = s.features.clone();
        features.sort();
        if features != cur.features {
            not_restorable.push("features");
        }
        if s.vanity_url_code != cur.vanity_url_code {
            not_restorable.push("vanity_url_code");
        }
        for field in &not_restorable {
            self.skipped.push(Skipped {
                kind: Kind::Settings,
                name: (*field).to_owned(),
                reason: SkipReason::NotRestorable,
            });
        }
        if !not_restorable.is_empty() {
            self.warnings.push(Warning::NotRestorable {
                fields: not_restorable.iter().map(|f| (*f).to_owned()).collect(),
            });
        }
        if f.is_empty() {
            self.counts.settings.keep += 1;
            Vec::new()
        } else {
            self.counts.settings.update += 1;
            vec![Action::Settings { fields: f }]
        }
    }

    // ------------------------------------------------------------------ members
}
