//! Opening and creating arrays: named files, shared-memory names, memfds
//! and raw files; the open-or-create protocol (temporary file, OFD lock,
//! exclusive link).

use super::*;

impl Array {
    // ---------------------------------------------------------------- open

    /// Opens (and with `o.create`, creates) the array at `path`. A symbolic
    /// link at the last component is never followed (`Perm`). Open-or-create
    /// refuses an existing array of another user unless `o.foreign`
    /// (`Owner`), and gives up with `Exists` after `OPEN_ROUNDS` (64) rounds of
    /// "not found, then created by someone else first" instead of looping.
    pub fn open(path: &str, o: &Options) -> Result<Array> {
        // An invalid MBA_RESERVE fails every open, not only a creation.
        crate::reserve::default_bytes()?;
        if o.replace || (o.create && o.exclusive) {
            return create_named(path, o, o.replace);
        }
        for _ in 0..OPEN_ROUNDS {
            match open_existing(path, o) {
                Err(e) if e.code == Code::NotFound && o.create => {
                    match create_named(path, o, false) {
                        Err(e) if e.code == Code::Exists => continue,
                        r => return r,
                    }
                }
                r => return r,
            }
        }
        Err(Error::new(
            Code::Exists,
            format!(
                "{path}: neither opened nor created in {OPEN_ROUNDS} rounds (the name \
                 exists whenever we create it and is gone whenever we open it)"
            ),
        ))
    }

    /// A new anonymous array backed by a memfd: share it by fd (see
    /// [`Array::fd`]) or across `fork`. It is sealed against shrinking.
    pub fn anon(o: &Options) -> Result<Array> {
        let layout = o
            .layout
            .clone()
            .ok_or_else(|| Error::new(Code::Arg, "an anonymous array needs a type"))?;
        let fd = sys::memfd("mba-anon")?;
        init_file(&fd, &layout, o)?;
        sys::seal_no_shrink(fd.as_raw_fd())?;
        map_fd(fd, o.access, o.expect, None)
    }

    /// Attaches to the array behind an open descriptor (which is duplicated;
    /// the caller keeps its own).
    pub fn from_fd(fd: RawFd, access: Access, expect: Option<ElemType>) -> Result<Array> {
        // SAFETY: F_DUPFD_CLOEXEC has no memory preconditions.
        let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if d < 0 {
            return Err(Error::last_os("dup"));
        }
        // SAFETY: `d` is a fresh descriptor owned by nobody else.
        map_fd(unsafe { OwnedFd::from_raw_fd(d) }, access, expect, None)
    }

    /// Maps a raw binary file (no header) as a fixed-length array of rows of
    /// `layout`, starting `offset` bytes into the file. `rows` = `None` maps
    /// every complete row. The length never changes.
    pub fn map_raw(
        path: &str,
        layout: &Layout,
        offset: u64,
        rows: Option<u64>,
        access: Access,
    ) -> Result<Array> {
        // A copy-on-write map never writes to the file: a read-only
        // descriptor is enough, so a file we may only read can be mapped.
        let flags = if access == Access::ReadWrite {
            libc::O_RDWR
        } else {
            libc::O_RDONLY
        };
        // O_NONBLOCK: never block on a FIFO (refused below as not regular).
        let file = sys::open(path, flags | libc::O_NONBLOCK | libc::O_NOFOLLOW, 0)?;
        let size = regular_size(&file)?;
        let rb = layout.row_bytes();
        if offset > size {
            return Err(Error::new(
                Code::Arg,
                format!("offset {offset} is past the end of the file ({size} bytes)"),
            ));
        }
        let avail = (size - offset) / rb;
        let rows = match rows {
            Some(r) if r > avail => {
                return Err(Error::new(
                    Code::Truncated,
                    format!("the file holds {avail} rows past the offset, not {r}"),
                ))
            }
            Some(r) => r,
            None => avail,
        };
        let bytes = rows
            .checked_mul(rb)
            .filter(|&b| b <= usize::MAX as u64 / 2)
            .ok_or_else(|| Error::new(Code::Overflow, "mapping size overflows"))?
            as usize;
        let map = Mapping::new(file, offset, bytes, access)?;
        let mut ph = Box::new(PrivHeader([0; HEADER_SIZE as usize]));
        ph.0[format::OFF_LEN..format::OFF_LEN + 8].copy_from_slice(&rows.to_le_bytes());
        ph.0[format::OFF_CAPACITY..format::OFF_CAPACITY + 8].copy_from_slice(&rows.to_le_bytes());
        let hdr = ph.0.as_mut_ptr();
        let data = map.base;
        Ok(Array {
            map: Arc::new(map),
            hdr,
            _priv_hdr: Some(ph),
            data,
            layout: layout.clone(),
            rb,
            data_offset: offset,
            max_len: rows,
            kind: Kind::Raw,
            writable: access != Access::ReadOnly,
            uuid: 0,
            verified: AtomicU64::new(rows),
            token: Token::private(),
            batch_owner: AtomicUsize::new(0),
            batch_gen: AtomicU64::new(0),
            path: Some(path.to_string()),
        })
    }
}

pub(super) fn regular_stat(fd: &OwnedFd) -> Result<libc::stat> {
    let st = sys::fstat(fd.as_raw_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Error::new(Code::Arg, "not a regular file"));
    }
    Ok(st)
}

pub(super) fn regular_size(fd: &OwnedFd) -> Result<u64> {
    Ok(regular_stat(fd)?.st_size.max(0) as u64)
}

/// Writes a fresh header and reserves the initial capacity.
pub(super) fn init_file(fd: &OwnedFd, layout: &Layout, o: &Options) -> Result<Header> {
    let rb = layout.row_bytes();
    let limit = Header::max_len_limit(rb);
    let max_len = if o.max_len == 0 {
        (crate::reserve::default_bytes()? / rb).max(1)
    } else {
        o.max_len
    };
    if max_len > limit {
        return Err(Error::new(
            Code::Overflow,
            format!("max_len {max_len} exceeds the limit {limit} for this row size"),
        ));
    }
    if o.initial_len > max_len {
        return Err(Error::new(Code::Full, "initial length exceeds max_len"));
    }
    let cap = o
        .capacity
        .max(o.initial_len)
        .max((4096 / rb).max(1))
        .min(max_len);
    let h = Header::new(layout.clone(), max_len, sys::random_u64(), sys::now_ns());
    let mut b = h.encode();
    b[format::OFF_LEN..format::OFF_LEN + 8].copy_from_slice(&o.initial_len.to_le_bytes());
    b[format::OFF_CAPACITY..format::OFF_CAPACITY + 8].copy_from_slice(&cap.to_le_bytes());
    b[format::OFF_NEXT_TOKEN..format::OFF_NEXT_TOKEN + 4].copy_from_slice(&1u32.to_le_bytes());
    sys::allocate(fd.as_raw_fd(), h.data_offset + cap * rb)?;
    sys::pwrite_all(fd.as_raw_fd(), &b, 0)?;
    Ok(h)
}

pub(super) fn split_path(path: &str) -> (String, String) {
    match path.rfind('/') {
        Some(0) => ("/".into(), path[1..].into()),
        Some(i) => (path[..i].into(), path[i + 1..].into()),
        None => (".".into(), path.into()),
    }
}

/// Creates a new array under a temporary name in the target directory,
/// initialises it, then links it under `path` (exclusively, or replacing).
/// From its `O_CREAT|O_EXCL` open until it is linked or unlinked, the
/// temporary file carries an OFD write lock on byte 0 (FORMAT.md §4.1), so
/// a collector can tell a creation in progress (locked) from the leftover
/// of a killed creator (unlocked).
pub(super) fn create_named(path: &str, o: &Options, replace: bool) -> Result<Array> {
    let layout = o
        .layout
        .clone()
        .ok_or_else(|| Error::new(Code::Arg, "creating an array needs an element type"))?;
    if o.access != Access::ReadWrite {
        return Err(Error::new(
            Code::Arg,
            "cannot create an array read-only or copy-on-write",
        ));
    }
    if o.mode & !0o777 != 0 {
        return Err(Error::new(
            Code::Arg,
            format!("mode {:o} is invalid", o.mode),
        ));
    }
    let (dir, base) = split_path(path);
    if base.is_empty() || base == "." || base == ".." {
        return Err(Error::new(Code::Arg, format!("invalid name {path:?}")));
    }
    let tmp = format!(
        "{dir}/.{base}.mba-tmp.{}.{:x}",
        std::process::id(),
        sys::random_u64()
    );
    let fd = sys::open(
        &tmp,
        libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
        0o600,
    )?;
    let res = (|| {
        if !sys::ofd_try_lock(fd.as_raw_fd(), TMP_LOCK_BYTE)? {
            return Err(Error::new(
                Code::Io,
                format!("{tmp}: just created, yet locked by someone else"),
            ));
        }
        let mode = if o.mode == 0 { 0o600 } else { o.mode };
        // SAFETY: plain syscall on our descriptor.
        if unsafe { libc::fchmod(fd.as_raw_fd(), mode) } != 0 {
            return Err(Error::last_os("fchmod"));
        }
        init_file(&fd, &layout, o)?;
        if replace {
            sys::rename_replace(&tmp, path)
        } else if sys::rename_noreplace(&tmp, path)? {
            Ok(())
        } else {
            Err(Error::new(Code::Exists, format!("{path} already exists")))
        }
    })();
    if let Err(e) = res {
        let _ = sys::unlink(&tmp);
        return Err(e);
    }
    // Linked: the file is an array now, and byte 0 must not stay locked
    // for the life of this descriptor (which the mapping keeps).
    sys::ofd_unlock(fd.as_raw_fd(), TMP_LOCK_BYTE)?;
    map_fd(fd, Access::ReadWrite, None, Some(path))
}

/// The byte of a temporary `.NAME.mba-tmp.*` file that its creator keeps
/// write-locked (OFD lock) until the file is linked or removed.
pub const TMP_LOCK_BYTE: i64 = 0;

pub(super) fn open_existing(path: &str, o: &Options) -> Result<Array> {
    let a = match open_mapped(path, o)? {
        Some(a) => a,
        None => {
            let flags = if o.access == Access::ReadWrite {
                libc::O_RDWR
            } else {
                libc::O_RDONLY
            };
            // O_NONBLOCK: a FIFO opened by mistake is refused instead of
            // blocking (it has no effect on regular files). O_NOFOLLOW: a
            // symbolic link planted at the name is refused (`Perm`).
            let fd = sys::open(path, flags | libc::O_NONBLOCK | libc::O_NOFOLLOW, 0)?;
            if o.create && !o.foreign {
                checks::check_owner(&sys::fstat(fd.as_raw_fd())?, path)?;
            }
            map_fd(fd, o.access, o.expect, Some(path))?
        }
    };
    if let Some(l) = &o.layout {
        if l.elem != a.layout.elem
            || (l.elem == ElemType::Record && l.item_size != a.layout.item_size)
        {
            return Err(Error::new(
                Code::Type,
                format!(
                    "{path} holds {} elements, not {}",
                    a.layout.elem.name(),
                    l.elem.name()
                ),
            ));
        }
    }
    Ok(a)
}

/// A new handle on the mapping this process already has of the file at
/// `path` with this access, if any (see [`MapCache`]). `None` sends the
/// caller down the full open path, which also reports every error.
/// The cached descriptor is `fstat`ed: a file that another process shrank
/// below what the mapping has verified is dropped from the cache and
/// mapped afresh (so validated like a first open), and the new handle's
/// capacity is checked against the size and allocation read now.
pub(super) fn open_mapped(path: &str, o: &Options) -> Result<Option<Array>> {
    if o.access == Access::CopyOnWrite || !MapCache::any_live() {
        return Ok(None);
    }
    // lstat: a symbolic link is not a regular file, and the full path
    // refuses it (O_NOFOLLOW).
    let Ok(st) = sys::lstat(path) else {
        return Ok(None);
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Ok(None);
    }
    let writable = o.access == Access::ReadWrite;
    let Some((map, h)) = MapCache::find(st.st_dev, st.st_ino, writable) else {
        return Ok(None);
    };
    // SIGBUS guard: a mapping the guard repaired no longer mirrors the file.
    if map.is_poisoned() {
        MapCache::evict(&map);
        return Ok(None);
    }
    let Ok(now) = regular_stat(&map.file) else {
        return Ok(None);
    };
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
        return Ok(None);
    }
    // Shorter than the header region (attach would touch a page past the
    // end), or than the rows some handle trusts: map afresh.
    let size = now.st_size.max(0) as u64;
    let rows = size.saturating_sub(h.data_offset) / h.row_bytes;
    if size < h.data_offset || rows < map.verified.load(Relaxed) {
        MapCache::evict(&map);
        return Ok(None);
    }
    if o.create && !o.foreign {
        checks::check_owner(&now, path)?;
    }
    check_expect(&h, o.expect)?;
    attach(map, &h, o.access, Some(path), now).map(Some)
}
