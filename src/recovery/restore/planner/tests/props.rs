//! Purpose: the planner's property — for any snapshot and any current guild (the snapshot's
//! guild after random deletions, renames, moves, permission and overwrite changes, new roles
//! and channels, members' role changes), executing the mirror plan (roles, channels, members)
//! on a model of Discord yields the snapshot: every role with its name, colour, permissions
//! and order; every channel with its kind, name, parent and overwrites; every member's roles and
//! nickname; nothing else (mirror). The model executes the steps in dependency order, as the
//! runner does, with Discord's rules: a new role starts at the bottom, deleting a role takes it
//! from members and overwrites, deleting a category frees its channels.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;

use super::super::super::model::{Action, OverwriteFor, Ref, StepId};
use super::*;

const NAMES: [&str; 6] = ["alpha", "beta", "gamma", "delta", "alpha", "mods"];
/// Permission bits a generated role may hold (dangerous ones among them: granted last).
const BITS: [i64; 6] = [1 << 10, 1 << 11, 1 << 13, 1 << 3, 1 << 4, 1 << 28];

#[derive(Debug, Clone)]
enum Change {
    DeleteRole(usize),
    RenameRole(usize, usize),
    RolePermissions(usize, u8),
    SwapRoles(usize, usize),
    AddRole(usize),
    DeleteChannel(usize),
    RenameChannel(usize, usize),
    MoveChannel(usize, Option<usize>),
    AddChannel(usize, bool),
    DropOverwrites(usize),
    MemberRoles(usize, u8),
    MemberNick(usize, Option<usize>),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..12usize).prop_map(Change::DeleteRole),
        (0..12usize, 0..6usize).prop_map(|(a, b)| Change::RenameRole(a, b)),
        (0..12usize, any::<u8>()).prop_map(|(a, b)| Change::RolePermissions(a, b)),
        (0..12usize, 0..12usize).prop_map(|(a, b)| Change::SwapRoles(a, b)),
        (0..6usize).prop_map(Change::AddRole),
        (0..12usize).prop_map(Change::DeleteChannel),
        (0..12usize, 0..6usize).prop_map(|(a, b)| Change::RenameChannel(a, b)),
        (0..12usize, proptest::option::of(0..4usize)).prop_map(|(a, b)| Change::MoveChannel(a, b)),
        (0..6usize, any::<bool>()).prop_map(|(a, b)| Change::AddChannel(a, b)),
        (0..12usize).prop_map(Change::DropOverwrites),
        (0..4usize, any::<u8>()).prop_map(|(a, b)| Change::MemberRoles(a, b)),
        (0..4usize, proptest::option::of(0..6usize)).prop_map(|(a, b)| Change::MemberNick(a, b)),
    ]
}

/// (roles: name index and permission mask; categories; channels: name, kind voice?, parent
/// category index, overwrite role index and allow mask; members: role mask, nick).
type Shape = (
    Vec<(usize, u8)>,
    usize,
    Vec<(usize, bool, Option<usize>, Option<(usize, u8)>)>,
    Vec<(u8, Option<usize>)>,
);

fn shape() -> impl Strategy<Value = Shape> {
    (
        prop::collection::vec((0..6usize, any::<u8>()), 0..7),
        0..3usize,
        prop::collection::vec(
            (
                0..6usize,
                any::<bool>(),
                proptest::option::of(0..3usize),
                proptest::option::of((0..7usize, any::<u8>())),
            ),
            0..7,
        ),
        prop::collection::vec((any::<u8>(), proptest::option::of(0..6usize)), 0..4),
    )
}

fn mask_bits(mask: u8) -> i64 {
    BITS.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, b)| *b)
        .fold(0, |a, b| a | b)
}

/// A guild from a shape: @everyone, the roles, Umbra's managed role on top; categories and
/// channels; the owner, Umbra and members.
fn build((roles, categories, channels, members): &Shape) -> GuildState {
    let mut g = guild();
    g.roles.retain(|r| r.discord_role_id == GUILD);
    g.channels.clear();
    g.members.clear();
    let mut role_ids = Vec::new();
    for (i, (name, mask)) in roles.iter().enumerate() {
        let id = 100 + i as u64;
        let mut r = role(id, NAMES[*name], i as i32 + 1, mask_bits(*mask));
        r.color = (*mask % 4) as i32;
        g.roles.push(r);
        role_ids.push(id);
    }
    let mut bot = role(99, "Umbra", roles.len() as i32 + 1, 8);
    bot.managed = true;
    bot.tags = Some(serde_json::json!({ "bot_id": BOT.to_string() }));
    g.roles.push(bot);
    let category_ids: Vec<u64> = (0..*categories).map(|i| 300 + i as u64).collect();
    for (i, id) in category_ids.iter().enumerate() {
        g.channels
            .push(channel(*id, 4, &format!("cat{i}"), None, i as i32));
    }
    for (i, (name, voice, parent, overwrite)) in channels.iter().enumerate() {
        let parent = parent.and_then(|p| category_ids.get(p).copied());
        let mut c = channel(
            400 + i as u64,
            if *voice { 2 } else { 0 },
            NAMES[*name],
            parent,
            i as i32,
        );
        if let Some((r, mask)) = overwrite
            && let Some(target) = role_ids.get(*r)
        {
            c.overwrites.push(OverwriteState {
                target_id: *target,
                target: OverwriteTarget::Role,
                allow: mask_bits(*mask) & !(1 << 3),
                deny: 0,
            });
        }
        g.channels.push(c);
    }
    g.members.push(member(OWNER, &[], None));
    g.members.push(member(BOT, &[99], None));
    for (i, (mask, nick)) in members.iter().enumerate() {
        let roles: Vec<u64> = role_ids
            .iter()
            .enumerate()
            .filter(|(k, _)| mask & (1 << (k % 8)) != 0)
            .map(|(_, r)| *r)
            .collect();
        g.members
            .push(member(60 + i as u64, &roles, nick.map(|n| NAMES[n])));
    }
    g.sorted()
}

/// The snapshot's guild after `changes` (what an attacker or time did), as Discord keeps it.
fn mutate(mut g: GuildState, changes: &[Change], next: &mut u64) -> GuildState {
    let plain = |g: &GuildState| -> Vec<u64> {
        g.roles
            .iter()
            .filter(|r| r.discord_role_id != GUILD && !r.managed)
            .map(|r| r.discord_role_id)
            .collect()
    };
    let pick = |list: &[u64], i: usize| (!list.is_empty()).then(|| list[i % list.len()]);
    for c in changes {
        let roles = plain(&g);
        // The generated members (not the owner or Umbra).
        let humans: Vec<u64> = g
            .members
            .iter()
            .filter(|m| m.discord_user_id >= 60)
            .map(|m| m.discord_user_id)
            .collect();
        let channels: Vec<u64> = g.channels.iter().map(|c| c.discord_channel_id).collect();
        let categories: Vec<u64> = g
            .channels
            .iter()
            .filter(|c| c.kind == 4)
            .map(|c| c.discord_channel_id)
            .collect();
        match c {
            Change::DeleteRole(i) => {
                if let Some(id) = pick(&roles, *i) {
                    delete_role(&mut g, id);
                }
            }
            Change::RenameRole(i, n) => {
                if let Some(id) = pick(&roles, *i)
                    && let Some(r) = g.roles.iter_mut().find(|r| r.discord_role_id == id)
                {
                    r.name = NAMES[*n].into();
                }
            }
            Change::RolePermissions(i, m) => {
                if let Some(id) = pick(&roles, *i)
                    && let Some(r) = g.roles.iter_mut().find(|r| r.discord_role_id == id)
                {
                    r.permissions = mask_bits(*m);
                }
            }
            Change::SwapRoles(a, b) => {
                if let (Some(x), Some(y)) = (pick(&roles, *a), pick(&roles, *b)) {
                    let px = g
                        .roles
                        .iter()
                        .find(|r| r.discord_role_id == x)
                        .map(|r| r.position);
                    let py = g
                        .roles
                        .iter()
                        .find(|r| r.discord_role_id == y)
                        .map(|r| r.position);
                    if let (Some(px), Some(py)) = (px, py) {
                        for r in &mut g.roles {
                            if r.discord_role_id == x {
                                r.position = py;
                            } else if r.discord_role_id == y {
                                r.position = px;
                            }
                        }
                    }
                }
            }
            Change::AddRole(n) => {
                *next += 1;
                for r in &mut g.roles {
                    if r.discord_role_id != GUILD {
                        r.position += 1;
                    }
                }
                g.roles.push(role(*next, NAMES[*n], 1, 1 << 10));
            }
            Change::DeleteChannel(i) => {
                if let Some(id) = pick(&channels, *i) {
                    delete_channel(&mut g, id);
                }
            }
            Change::RenameChannel(i, n) => {
                if let Some(id) = pick(&channels, *i)
                    && let Some(c) = g.channels.iter_mut().find(|c| c.discord_channel_id == id)
                {
                    c.name = NAMES[*n].into();
                }
            }
            Change::MoveChannel(i, p) => {
                let parent = p.and_then(|p| pick(&categories, p));
                if let Some(id) = pick(&channels, *i)
                    && let Some(c) = g.channels.iter_mut().find(|c| c.discord_channel_id == id)
                    && c.kind != 4
                {
                    c.parent_id = parent;
                }
            }
            Change::AddChannel(n, voice) => {
                *next += 1;
                g.channels.push(channel(
                    *next,
                    if *voice { 2 } else { 0 },
                    NAMES[*n],
                    None,
                    50,
                ));
            }
            Change::DropOverwrites(i) => {
                if let Some(id) = pick(&channels, *i)
                    && let Some(c) = g.channels.iter_mut().find(|c| c.discord_channel_id == id)
                {
                    c.overwrites.clear();
                }
            }
            Change::MemberRoles(i, m) => {
                if let Some(u) = pick(&humans, *i)
                    && let Some(member) = g.members.iter_mut().find(|x| x.discord_user_id == u)
                {
                    member.role_ids = roles
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| m & (1 << (k % 8)) != 0)
                        .map(|(_, r)| *r)
                        .collect();
                }
            }
            Change::MemberNick(i, n) => {
                if let Some(u) = pick(&humans, *i)
                    && let Some(member) = g.members.iter_mut().find(|x| x.discord_user_id == u)
                {
                    member.nick = n.map(|n| NAMES[n].to_owned());
                }
            }
        }
    }
    g.sorted()
}

fn delete_role(g: &mut GuildState, id: u64) {
    g.roles.retain(|r| r.discord_role_id != id);
    for m in &mut g.members {
        m.role_ids.retain(|r| *r != id);
    }
    for c in &mut g.channels {
        c.overwrites.retain(|o| o.target_id != id);
    }
}

fn delete_channel(g: &mut GuildState, id: u64) {
    g.channels.retain(|c| c.discord_channel_id != id);
    for c in &mut g.channels {
        if c.parent_id == Some(id) {
            c.parent_id = None;
        }
    }
}

/// Executes `plan` on `g` as Discord would, steps in dependency order (the lowest ready id
/// first). Returns the id map (local -> live) of roles and channels.
fn execute(
    plan: &Plan,
    g: &mut GuildState,
    next: &mut u64,
) -> (HashMap<u32, u64>, HashMap<u32, u64>) {
    let mut roles: HashMap<u32, u64> = plan
        .matched_roles
        .iter()
        .map(|(k, v)| (*k, v.parse().expect("an id")))
        .collect();
    let mut channels: HashMap<u32, u64> = plan
        .matched_channels
        .iter()
        .map(|(k, v)| (*k, v.parse().expect("an id")))
        .collect();
    let deps = plan.dependencies();
    let mut done: BTreeSet<StepId> = BTreeSet::new();
    while done.len() < plan.steps.len() {
        let step = plan
            .steps
            .iter()
            .find(|s| !done.contains(&s.id) && deps[s.id as usize].iter().all(|d| done.contains(d)))
            .expect("no dependency cycle");
        done.insert(step.id);
        let role_of = |r: &Ref, roles: &HashMap<u32, u64>| match r {
            Ref::L(l) => roles.get(l).copied(),
            Ref::D(d) => Some(*d),
        };
        let overwrites = |specs: &[super::super::super::model::OverwriteSpec],
                          roles: &HashMap<u32, u64>| {
            let mut out: Vec<OverwriteState> = specs
                .iter()
                .filter_map(|o| {
                    let (target_id, target) = match o.target {
                        OverwriteFor::Role(r) => (role_of(&r, roles)?, OverwriteTarget::Role),
                        OverwriteFor::Member(u) => (u, OverwriteTarget::Member),
                    };
                    Some(OverwriteState {
                        target_id,
                        target,
                        allow: o.allow as i64,
                        deny: o.deny as i64,
                    })
                })
                .collect();
            out.sort_by_key(|o| o.target_id);
            out
        };
        match &step.action {
            Action::RoleCreate {
                role: local,
                fields,
            } => {
                *next += 1;
                for r in &mut g.roles {
                    if r.discord_role_id != GUILD {
                        r.position += 1;
                    }
                }
                let mut r = role(*next, fields.name.as_deref().unwrap_or("new role"), 1, 0);
                r.color = fields.color.unwrap_or(0);
                r.permissions = fields.permissions.unwrap_or(0) as i64;
                r.hoist = fields.hoist.unwrap_or(false);
                r.mentionable = fields.mentionable.unwrap_or(false);
                g.roles.push(r);
                roles.insert(*local, *next);
            }
            Action::RoleUpdate { live, fields, .. } => {
                let r = g
                    .roles
                    .iter_mut()
                    .find(|r| r.discord_role_id == *live)
                    .expect("an update of a live role");
                if let Some(n) = &fields.name {
                    r.name = n.clone();
                }
                if let Some(c) = fields.color {
                    r.color = c;
                }
                if let Some(p) = fields.permissions {
                    r.permissions = p as i64;
                }
                if let Some(h) = fields.hoist {
                    r.hoist = h;
                }
                if let Some(m) = fields.mentionable {
                    r.mentionable = m;
                }
            }
            Action::RoleDelete { live, .. } => delete_role(g, *live),
            Action::RolePositions { order } => {
                for (i, r) in order.iter().enumerate() {
                    let id = role_of(r, &roles).expect("a positioned role exists");
                    if let Some(x) = g.roles.iter_mut().find(|x| x.discord_role_id == id) {
                        x.position = i as i32 + 1;
                    }
                }
            }
            Action::RoleGrant {
                role: local,
                permissions,
            } => {
                let id = roles[local];
                if let Some(r) = g.roles.iter_mut().find(|r| r.discord_role_id == id) {
                    r.permissions = *permissions as i64;
                }
            }
            Action::ChannelCreate {
                channel: local,
                parent,
                position,
                fields,
            } => {
                *next += 1;
                let mut c = channel(
                    *next,
                    fields.kind.unwrap_or(0),
                    fields.name.as_deref().unwrap_or("new channel"),
                    parent.and_then(|p| match p {
                        Ref::L(l) => channels.get(&l).copied(),
                        Ref::D(d) => Some(d),
                    }),
                    *position,
                );
                c.overwrites = overwrites(fields.overwrites.as_deref().unwrap_or_default(), &roles);
                g.channels.push(c);
                channels.insert(*local, *next);
            }
            Action::ChannelUpdate { live, fields, .. } => {
                let ows = fields.overwrites.as_ref().map(|o| overwrites(o, &roles));
                let c = g
                    .channels
                    .iter_mut()
                    .find(|c| c.discord_channel_id == *live)
                    .expect("an update of a live channel");
                if let Some(n) = &fields.name {
                    c.name = n.clone();
                }
                if let Some(k) = fields.kind {
                    c.kind = k;
                }
                if let Some(o) = ows {
                    c.overwrites = o;
                }
            }
            Action::ChannelDelete { live, .. } => delete_channel(g, *live),
            Action::ChannelPositions { items } => {
                for item in items {
                    let resolve = |r: Ref| match r {
                        Ref::L(l) => channels.get(&l).copied(),
                        Ref::D(d) => Some(d),
                    };
                    let id = resolve(item.channel).expect("a positioned channel exists");
                    let parent = item.parent.and_then(resolve);
                    if let Some(c) = g.channels.iter_mut().find(|c| c.discord_channel_id == id) {
                        c.position = item.position;
                        c.parent_id = parent;
                    }
                }
            }
            Action::Member {
                user,
                roles: r,
                nick,
                ..
            } => {
                let resolved: Option<Vec<u64>> = r
                    .as_ref()
                    .map(|list| list.iter().filter_map(|x| role_of(x, &roles)).collect());
                if let Some(m) = g.members.iter_mut().find(|m| m.discord_user_id == *user) {
                    if let Some(list) = resolved {
                        m.role_ids = list;
                    }
                    if let Some(n) = nick {
                        m.nick = n.clone();
                    }
                }
            }
            other => panic!("not planned for roles, channels and members: {other:?}"),
        }
    }
    (roles, channels)
}

/// Checks that `g` is `doc` (ids through the maps).
fn assert_is_snapshot(
    doc: &SnapshotDocument,
    g: &GuildState,
    roles: &HashMap<u32, u64>,
    channels: &HashMap<u32, u64>,
) -> Result<(), TestCaseError> {
    let live_role = |local: u32| roles.get(&local).copied();
    // Roles: each one, with its fields, and nothing else.
    let mut kept: BTreeSet<u64> = BTreeSet::new();
    for r in doc.roles.iter().filter(|r| !r.everyone && !r.managed) {
        let id = live_role(r.id);
        prop_assert!(id.is_some(), "role {} has no live role", r.name);
        let live = g.roles.iter().find(|x| Some(x.discord_role_id) == id);
        prop_assert!(live.is_some(), "role {} is gone", r.name);
        let live = live.expect("checked");
        prop_assert_eq!(&live.name, &r.name);
        prop_assert_eq!(live.color, r.color);
        prop_assert_eq!(
            live.permissions as u64,
            r.permissions,
            "permissions of {}",
            r.name
        );
        kept.insert(live.discord_role_id);
    }
    let extra: Vec<&str> = g
        .roles
        .iter()
        .filter(|r| r.discord_role_id != GUILD && !r.managed && !kept.contains(&r.discord_role_id))
        .map(|r| r.name.as_str())
        .collect();
    prop_assert!(extra.is_empty(), "roles the snapshot lacks: {:?}", extra);
    // Their order (managed roles included).
    let order_then: Vec<u64> = doc
        .roles
        .iter()
        .filter(|r| !r.everyone && !r.managed)
        .filter_map(|r| live_role(r.id))
        .collect();
    let mut order_now: Vec<&RoleState> = g
        .roles
        .iter()
        .filter(|r| order_then.contains(&r.discord_role_id))
        .collect();
    order_now.sort_by_key(|r| rank(r));
    let order_now: Vec<u64> = order_now.iter().map(|r| r.discord_role_id).collect();
    prop_assert_eq!(order_now, order_then, "role order");
    // Channels: kind, name, parent, overwrites; nothing else.
    let mut live_channels: BTreeSet<u64> = BTreeSet::new();
    for c in &doc.channels {
        let id = channels.get(&c.id).copied();
        let live = g.channels.iter().find(|x| Some(x.discord_channel_id) == id);
        prop_assert!(live.is_some(), "channel {} is gone", c.name);
        let live = live.expect("checked");
        prop_assert_eq!(&live.name, &c.name);
        prop_assert_eq!(live.kind, c.kind);
        prop_assert_eq!(
            live.parent_id,
            c.parent.and_then(|p| channels.get(&p).copied()),
            "parent of {}",
            c.name
        );
        let mut then: Vec<(u64, i64)> = c
            .overwrites
            .iter()
            .filter_map(|o| {
                let target = match o.role {
                    Some(r) => live_role(r).or_else(|| {
                        doc.roles
                            .iter()
                            .find(|x| x.id == r && x.everyone)
                            .map(|_| GUILD)
                    })?,
                    None => o.user_id?,
                };
                Some((target, o.allow as i64))
            })
            .collect();
        then.sort_unstable();
        let mut now: Vec<(u64, i64)> = live
            .overwrites
            .iter()
            .map(|o| (o.target_id, o.allow))
            .collect();
        now.sort_unstable();
        prop_assert_eq!(now, then, "overwrites of {}", c.name);
        live_channels.insert(live.discord_channel_id);
    }
    prop_assert_eq!(
        live_channels.len(),
        g.channels.len(),
        "channels the snapshot lacks"
    );
    // Members: roles and nickname.
    for m in &doc.members {
        let Some(live) = g.members.iter().find(|x| x.discord_user_id == m.user_id) else {
            continue;
        };
        if m.user_id == BOT {
            continue;
        }
        let mut then: Vec<u64> = m
            .roles
            .iter()
            .filter(|r| doc.roles.iter().any(|x| x.id == **r && !x.managed))
            .filter_map(|r| live_role(*r))
            .collect();
        then.sort_unstable();
        let mut now: Vec<u64> = live
            .role_ids
            .iter()
            .copied()
            .filter(|r| {
                g.roles
                    .iter()
                    .any(|x| x.discord_role_id == *r && !x.managed)
            })
            .collect();
        now.sort_unstable();
        prop_assert_eq!(now, then, "roles of member {}", m.user_id);
        prop_assert_eq!(&live.nick, &m.nick, "nickname of member {}", m.user_id);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn executing_a_mirror_plan_yields_the_snapshot(
        shape in shape(),
        changes in prop::collection::vec(change(), 0..12),
    ) {
        let then = build(&shape);
        let doc = SnapshotDocument::from_state(&then).expect("a snapshot");
        let mut next = 10_000;
        let mut now = mutate(then, &changes, &mut next);
        let mut i = input(&doc, &now, Mode::Mirror);
        let components = Components::parse("roles,channels,members").expect("components");
        i.components = components;
        let plan = plan(&i);
        prop_assert!(plan.skipped.is_empty(), "nothing skipped: {:?}", plan.skipped);
        let (roles, channels) = execute(&plan, &mut now, &mut next);
        let now = now.sorted();
        assert_is_snapshot(&doc, &now, &roles, &channels)?;
        // And a second plan has nothing left to do.
        let again_doc = doc.clone();
        let mut again = input(&again_doc, &now, Mode::Mirror);
        again.components = Components::parse("roles,channels,members").expect("components");
        let second = super::super::plan(&again);
        prop_assert!(second.steps.is_empty(), "left to do: {:?}", second.steps);
    }
}
