//! Purpose: AntiNuke's classifier and counters as properties — for any audit entry, a role or
//! overwrite change that adds a dangerous permission counts as a grant and one that only takes
//! permissions away never does, a role given to a member counts for what it carries, an
//! unknown action counts for nothing; for any sequence of actions, an actor's sliding window
//! and score agree with a plain recount of what falls within the window (so a threshold is
//! crossed exactly when the count reaches it, whatever came before).

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

/// Permission sets mixing harmless and dangerous bits.
fn permissions() -> impl Strategy<Value = u64> {
    prop::collection::vec(0..41u32, 0..6).prop_map(|bits| bits.iter().fold(0, |p, b| p | 1 << b))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_role_change_is_a_grant_exactly_when_it_adds_a_dangerous_permission(
        old in permissions(),
        new in permissions(),
        other in prop::sample::select(vec![AuditChange::Name, AuditChange::Other, AuditChange::VanityUrlCode]),
    ) {
        let changes = vec![other, AuditChange::Permissions { old: Some(old), new: Some(new) }];
        let c = classify(audit::ROLE_UPDATE, &changes, |_| None, |_| false);
        let grant = new & !old & perm::DANGEROUS != 0;
        prop_assert_eq!(c.classes.contains(&ActionClass::PermissionGrant), grant);
        prop_assert_eq!(c.classes.contains(&ActionClass::PermissionRemove), old & !new != 0);
        // The same change on a channel overwrite.
        let o = classify(
            audit::CHANNEL_OVERWRITE_UPDATE,
            &[AuditChange::Allow { old: Some(old), new: Some(new) }],
            |_| None,
            |_| false,
        );
        prop_assert_eq!(o.classes.contains(&ActionClass::PermissionGrant), grant);
        // A role created with them is a creation, and a grant when any is dangerous.
        let created = classify(
            audit::ROLE_CREATE,
            &[AuditChange::Permissions { old: None, new: Some(new) }],
            |_| None,
            |_| false,
        );
        prop_assert!(created.classes.contains(&ActionClass::RoleCreate));
        prop_assert_eq!(
            created.classes.contains(&ActionClass::PermissionGrant),
            new & perm::DANGEROUS != 0
        );
    }

    #[test]
    fn a_role_given_to_a_member_counts_for_what_it_carries(
        roles in prop::collection::vec((1..50u64, permissions(), any::<bool>()), 0..6),
        removed in prop::collection::vec(1..50u64, 0..3),
    ) {
        let added: Vec<u64> = roles.iter().map(|(id, ..)| *id).collect();
        let permissions_of = |r: u64| roles.iter().find(|(id, ..)| *id == r).map(|(_, p, _)| *p);
        let trusted = |r: u64| roles.iter().any(|(id, _, t)| *id == r && *t);
        let c = classify(
            audit::MEMBER_ROLE_UPDATE,
            &[AuditChange::RolesAdded(added.clone()), AuditChange::RolesRemoved(removed.clone())],
            permissions_of,
            trusted,
        );
        let dangerous: Vec<u64> = added
            .iter()
            .copied()
            .filter(|r| permissions_of(*r).unwrap_or(0) & perm::DANGEROUS != 0)
            .collect();
        prop_assert_eq!(&c.dangerous_roles, &dangerous);
        prop_assert_eq!(c.classes.contains(&ActionClass::PermissionGrant), !dangerous.is_empty());
        prop_assert_eq!(
            c.classes.contains(&ActionClass::TrustGrant),
            added.iter().any(|r| trusted(*r))
        );
        prop_assert_eq!(c.classes.contains(&ActionClass::RoleRemove), !removed.is_empty());
    }

    #[test]
    fn an_action_umbra_does_not_watch_counts_for_nothing(action in any::<u8>()) {
        let watched = [
            audit::GUILD_UPDATE, audit::CHANNEL_CREATE, audit::CHANNEL_UPDATE, audit::CHANNEL_DELETE,
            audit::THREAD_DELETE, audit::CHANNEL_OVERWRITE_CREATE, audit::CHANNEL_OVERWRITE_UPDATE,
            audit::MEMBER_KICK, audit::MEMBER_PRUNE, audit::MEMBER_BAN_ADD, audit::MEMBER_BAN_REMOVE,
            audit::MEMBER_UPDATE, audit::MEMBER_ROLE_UPDATE, audit::BOT_ADD, audit::ROLE_CREATE,
            audit::ROLE_UPDATE, audit::ROLE_DELETE, audit::WEBHOOK_CREATE, audit::WEBHOOK_UPDATE,
            audit::WEBHOOK_DELETE, audit::EMOJI_DELETE, audit::STICKER_DELETE,
            audit::INTEGRATION_DELETE, audit::AUTO_MODERATION_RULE_DELETE,
            audit::AUTO_MODERATION_RULE_UPDATE, audit::MESSAGE_BULK_DELETE,
        ];
        prop_assume!(!watched.contains(&action));
        let c = classify(action, &[AuditChange::Other, AuditChange::Permissions { old: None, new: Some(perm::ADMINISTRATOR) }], |_| Some(perm::ADMINISTRATOR), |_| true);
        prop_assert_eq!(c, Classified::default());
    }

    #[test]
    fn a_window_counts_what_falls_within_it_and_crosses_at_its_count(
        // (class index, milliseconds since the previous action)
        actions in prop::collection::vec((0..3usize, 0..4_000u64), 1..60),
        count in 1..8u32,
        window_ms in 1..10_000u64,
        points in prop::collection::vec(0..5u32, 60),
    ) {
        let classes = [ActionClass::ChannelDelete, ActionClass::Ban, ActionClass::RoleDelete];
        let threshold = Threshold { count, window: Duration::from_millis(window_ms) };
        let start = Instant::now();
        let mut windows = Windows::default();
        let mut at = Duration::ZERO;
        let mut seen: Vec<(usize, Duration, u32)> = Vec::new();
        for (i, (class, gap)) in actions.iter().enumerate() {
            at += Duration::from_millis(*gap);
            let now = start + at;
            seen.push((*class, at, points[i]));
            let got = windows.hit(classes[*class], now, threshold);
            let recount = seen
                .iter()
                .filter(|(c, t, _)| c == class && at - *t < threshold.window)
                .count() as u32;
            prop_assert_eq!(got, recount.min(count), "action {}", i);
            prop_assert_eq!(got >= count, recount >= count);
            let score = windows.add_points(points[i], now, threshold.window);
            let rescore: u32 = seen
                .iter()
                .filter(|(_, t, _)| at - *t < threshold.window)
                .map(|(_, _, p)| *p)
                .sum();
            prop_assert_eq!(score, rescore, "score after action {}", i);
        }
    }
}
