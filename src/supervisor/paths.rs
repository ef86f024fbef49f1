//! Path resolution as the tracee sees it (paranoid mode).
