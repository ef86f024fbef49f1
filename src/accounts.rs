//! Checks that the run's uid and gid belong to no existing account, by
//! reading /etc/passwd and /etc/group (root-owned files; no NSS plugins are
//! loaded into the privileged process).

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

/// Err(name) when `uid` is an existing user.
pub fn check_uid(uid: u32) -> Result<(), String> {
    match name_with_id(Path::new("/etc/passwd"), uid) {
        Some(n) => Err(n),
        None => Ok(()),
    }
}

/// Err(name) when `gid` is an existing group.
pub fn check_gid(gid: u32) -> Result<(), String> {
    match name_with_id(Path::new("/etc/group"), gid) {
        Some(n) => Err(n),
        None => Ok(()),
    }
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
}
