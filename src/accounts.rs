//! Checks that the run's uid and gid belong to no existing account: in
//! /etc/passwd and /etc/group, and through every name service of
//! /etc/nsswitch.conf (`getpwuid_r`, `getgrgid_r`: LDAP, SSSD, systemd's
//! dynamic users ...). nsswitch.conf and the modules it names are the
//! administrator's (root-owned), and a setuid start clears the environment
//! first, so the caller cannot steer which modules are loaded. A uid in a
//! range of /etc/subuid (or a gid of /etc/subgid) is taken too: another
//! account's containers use it.

use std::path::Path;

/// The name of the entry in a passwd/group-format file whose id (third
/// field) is `id`, if any.
pub fn name_with_id(file: &Path, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    find_id(&text, id)
}

fn find_id(text: &str, id: u32) -> Option<String> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        let n: u32 = f.next()?.trim().parse().ok()?;
        (n == id).then(|| name.to_string())
    })
}

/// Err(name) when `uid` is an existing user (files or any name service),
/// or lies in a subordinate range of /etc/subuid.
pub fn check_uid(uid: u32) -> Result<(), String> {
    check(uid, "/etc/passwd", "/etc/subuid", "uids", || {
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).map(|u| u.map(|u| u.name))
    })
}

/// Err(name) when `gid` is an existing group (files or any name service),
/// or lies in a subordinate range of /etc/subgid.
pub fn check_gid(gid: u32) -> Result<(), String> {
    check(gid, "/etc/group", "/etc/subgid", "gids", || {
        nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)).map(|g| g.map(|g| g.name))
    })
}

/// The checks of [`check_uid`] and [`check_gid`]: the id in the `db`
/// file, then the name services (`lookup`), then the subordinate ranges of
/// `sub` (`kind`: "uids" or "gids").
fn check(
    id: u32,
    db: &str,
    sub: &str,
    kind: &str,
    lookup: impl FnOnce() -> nix::Result<Option<String>>,
) -> Result<(), String> {
    if let Some(n) = name_with_id(Path::new(db), id) {
        return Err(n);
    }
    match lookup() {
        Ok(Some(name)) => return Err(name),
        // A name service that fails cannot say the id is free.
        Err(e) => return Err(format!("(the name service failed: {e})")),
        Ok(None) => {}
    }
    match in_subordinate_range(Path::new(sub), id) {
        Some(n) => Err(format!("{n} (subordinate {kind} in {sub})")),
        None => Ok(()),
    }
}

fn in_subordinate_range(file: &Path, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    find_range(&text, id)
}

fn find_range(text: &str, id: u32) -> Option<String> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let start: u64 = f.next()?.trim().parse().ok()?;
        let count: u64 = f.next()?.trim().parse().ok()?;
        (u64::from(id) >= start && u64::from(id) < start + count).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ids_by_third_field() {
        let t =
            "root:x:0:0:root:/root:/bin/bash\n# c\nnobody:x:65534:65534::/:/bin/false\nbroken\n";
        assert_eq!(find_id(t, 0).as_deref(), Some("root"));
        assert_eq!(find_id(t, 65534).as_deref(), Some("nobody"));
        assert_eq!(find_id(t, 12345), None);
    }

    #[test]
    fn subordinate_ranges_hold_their_ids() {
        let t = "alice:100000:65536\n# c\nbob:300000:10\n";
        assert_eq!(find_range(t, 100000).as_deref(), Some("alice"));
        assert_eq!(find_range(t, 165535).as_deref(), Some("alice"));
        assert_eq!(find_range(t, 165536), None);
        assert_eq!(find_range(t, 300009).as_deref(), Some("bob"));
    }

    #[test]
    fn name_services_are_asked() {
        // root is in every passwd; the name service answers for it too.
        assert_eq!(check_uid(0), Err("root".into()));
        assert!(nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(0))
            .unwrap()
            .is_some());
        assert!(check_uid(3_999_999_999).is_ok());
    }
}
