//! A live creator: a forked child that creates a temporary file and holds
//! the creator's lock on it (an OFD write lock on byte 0, FORMAT.md 4.1),
//! as a process in the middle of creating an array does, until killed.
//! Used by the gc tests of the C ABI, the Rust API and the `mba` CLI.

use std::ffi::CString;
use std::path::Path;

/// The child; SIGKILLed and reaped when dropped, so a failed assertion
/// never leaves it behind holding the test's output pipe.
pub struct LiveCreator {
    pid: libc::pid_t,
}

impl LiveCreator {
    /// Forks the child and returns once it holds the lock on `tmp`.
    pub fn spawn(tmp: &Path) -> LiveCreator {
        let c = CString::new(tmp.to_str().unwrap()).unwrap();
        let mut p = [0i32; 2];
        // SAFETY: `p` is a writable array of two ints.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        // SAFETY: the child calls only async-signal-safe functions and
        // never returns into Rust code.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: plain syscalls on valid arguments; the child ends in
            // _exit or sleeps until SIGKILL.
            unsafe {
                // Dies with the test thread that forked it, whatever happens.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                let fd = libc::open(
                    c.as_ptr(),
                    libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
                    0o600,
                );
                if fd < 0 {
                    libc::_exit(10);
                }
                let mut fl: libc::flock = std::mem::zeroed();
                fl.l_type = libc::F_WRLCK as libc::c_short;
                fl.l_whence = libc::SEEK_SET as libc::c_short;
                fl.l_len = 1;
                if libc::fcntl(fd, libc::F_OFD_SETLK, &fl) != 0 {
                    libc::_exit(11);
                }
                libc::write(p[1], b"r".as_ptr().cast(), 1);
                loop {
                    libc::pause();
                }
            }
        }
        let mut b = [0u8; 1];
        // SAFETY: reads one byte into `b`; then closes our pipe ends.
        let n = unsafe {
            libc::close(p[1]);
            let n = libc::read(p[0], b.as_mut_ptr().cast(), 1);
            libc::close(p[0]);
            n
        };
        let child = LiveCreator { pid };
        assert_eq!(n, 1, "the creator child failed to lock {}", tmp.display());
        child
    }

    /// Its pid.
    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// SIGKILL and reap (once; later calls and the drop do nothing).
    pub fn kill(&mut self) {
        if self.pid > 0 {
            let mut st = 0;
            // SAFETY: our own, not yet reaped, child.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, &mut st, 0);
            }
            self.pid = 0;
        }
    }
}

impl Drop for LiveCreator {
    fn drop(&mut self) {
        self.kill();
    }
}
