# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_safeexec_global_optspecs
    string join \n cpu= mem= space= clock= nproc= fsize= nfile= stack= core= disk= niceness= uidplus= gid= chroot_dir= exec_dir= env_vars= usage= error= silent report= policy= paranoid net= ns no-ns landlock= no-filter jail= ro-bind= bind= tmpfs= allow-read= allow-write= cgroup no-cgroup trace= trace-level= show-config trace-limit= v/verbose exec= h/help V/version
end

function __fish_safeexec_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_safeexec_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_safeexec_using_subcommand
    set -l cmd (__fish_safeexec_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c safeexec -n "__fish_safeexec_needs_command" -l cpu -d 'CPU time of the whole run, seconds (fractions accepted) [default: 1]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l mem -l memory -d 'Peak resident memory of the whole run, KiB [default: 32768]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l space -d 'Address-space rlimit per process, KiB; 0 = none [default: 0]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l clock -d 'Wall clock of the whole run, seconds (fractions accepted) [default: 10]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l nproc -d 'Processes (and threads) the program may create; 0 = it cannot fork [default: 0]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l fsize -d 'Largest file the program may write, KiB [default: 8192]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l nfile -d 'Open descriptors per process [default: 64]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l stack -d 'Stack per process, KiB; 0 = unlimited [default: 8192]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l core -d 'Core file size, KiB [default: 0]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l disk -d 'What the program may write in its working directory in total, KiB: it writes into a bounded, run-private layer over the directory, and what it wrote is handed back into the directory, owned by the caller, when the run ends; past the bound: Output Limit Exceeded. 0 = write straight into the directory [default: 65536]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l niceness -d 'Niceness added to the program, 0..19' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l uidplus -d 'The run\'s uid is N + the supervisor\'s pid' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l gid -d 'The run\'s gid [default: the run\'s uid, a number no group has]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l chroot_dir -l chroot -d 'chroot into DIR before dropping root' -r -F
complete -c safeexec -n "__fish_safeexec_needs_command" -l exec_dir -l rundir -d 'Working directory (inside the chroot when there is one)' -r -F
complete -c safeexec -n "__fish_safeexec_needs_command" -l env_vars -d 'Environment of the program, comma separated: NAME (its value here) or NAME=VALUE. Nothing else is passed' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l usage -d 'Write the report to FILE instead of stderr' -r -F
complete -c safeexec -n "__fish_safeexec_needs_command" -l error -d 'Send the program\'s stderr to FILE' -r -F
complete -c safeexec -n "__fish_safeexec_needs_command" -l report -d 'Report format' -r -f -a "classic\t'The classic 4-line report'
json\t'One JSON object with full precision'"
complete -c safeexec -n "__fish_safeexec_needs_command" -l policy -d 'Paranoid mode with this policy file (a path, or a shipped name such as default, python3, java, audit)' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l net -d 'The program\'s network: none (a new empty network namespace) or host' -r -f -a "none\t'A new network namespace: nothing is reachable'
host\t'The host\'s network'"
complete -c safeexec -n "__fish_safeexec_needs_command" -l landlock -d 'Paranoid mode on a kernel without Landlock: `required` refuses a policy with path rules, `optional` runs with the supervisor\'s check alone and a warning (as `landlock optional` in the policy)' -r -f -a "required\t'A policy with read, write or exec path rules refuses to run'
optional\t'The supervisor\'s ptrace check alone, with a warning'"
complete -c safeexec -n "__fish_safeexec_needs_command" -l jail -d 'A jail root built from read-only binds for a runtime: c, python3, java' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l ro-bind -d 'Bind SRC read-only into the jail (at DST, default the same path)' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l bind -d 'Bind SRC writable into the jail (at DST, default the same path)' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l tmpfs -d 'A fresh writable tmpfs at DST in the jail' -r -F
complete -c safeexec -n "__fish_safeexec_needs_command" -l allow-read -d 'Let the program read PATH (a directory: its whole tree): added to the policy\'s path rules and kept visible over the private /tmp. Opened with the caller\'s rights; a setuid caller must name a path under the administrator\'s allowed_dirs (repeatable)' -r -F
complete -c safeexec -n "__fish_safeexec_needs_command" -l allow-write -d 'Let the program write (and read) PATH (a directory: its whole tree), as --allow-read; the caller must be able to write it (repeatable)' -r -F
complete -c safeexec -n "__fish_safeexec_needs_command" -l trace -d 'Record the run\'s system calls and process events in FILE (JSON lines; docs/trace.md). Without --policy or --paranoid the shipped audit policy is used: every call runs and is recorded' -r -F
complete -c safeexec -n "__fish_safeexec_needs_command" -l trace-level -d 'What --trace records: every call, or only the calls a rule did not simply allow (fast: allowed calls never stop)' -r -f -a "all\t'Every system call, with its return value: every call stops for the supervisor (slower, like strace)'
denied\t'Only calls a rule did not simply allow (deny, kill, log, path violations), with the fast in-kernel filter: allowed calls never stop'"
complete -c safeexec -n "__fish_safeexec_needs_command" -l trace-limit -d 'Largest --trace file, KiB: past it a final `truncated` record is written and recording stops (the run goes on, its verdict unchanged) [default: the --fsize value; at most 4194304]' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l exec -d 'The program and its arguments: must come last' -r
complete -c safeexec -n "__fish_safeexec_needs_command" -l silent -d 'Print no report'
complete -c safeexec -n "__fish_safeexec_needs_command" -l paranoid -d 'Paranoid mode with the shipped default policy'
complete -c safeexec -n "__fish_safeexec_needs_command" -l ns -d 'PID, IPC and UTS namespaces and a fresh /proc (the default when root)'
complete -c safeexec -n "__fish_safeexec_needs_command" -l no-ns -d 'No PID, IPC or UTS namespace, no fresh /proc'
complete -c safeexec -n "__fish_safeexec_needs_command" -l no-filter -d 'Classic mode without its default seccomp filter (which refuses user namespaces, kernel keys, perf events, userfaultfd, bpf, io_uring, kexec, module loading, ptrace and personality changes)'
complete -c safeexec -n "__fish_safeexec_needs_command" -l cgroup -d 'A per-run cgroup even for a single-process run (by default only runs that may create processes, --nproc > 0, get one)'
complete -c safeexec -n "__fish_safeexec_needs_command" -l no-cgroup -d 'No per-run cgroup: accounting from wait4 and /proc only (a caller of a setuid install always gets one: the kernel bounds its memory)'
complete -c safeexec -n "__fish_safeexec_needs_command" -l show-config -d 'Print the run\'s effective configuration (limits, policy, jail, cgroup, the administrator\'s bounds) as one JSON object on stdout, after every check a run makes before it starts, and exit without running the program'
complete -c safeexec -n "__fish_safeexec_needs_command" -s v -l verbose -d 'Debug logging of each setup step (RUST_LOG works too, except in a setuid start, where it is ignored and -v shows safeexec\'s own lines only)'
complete -c safeexec -n "__fish_safeexec_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c safeexec -n "__fish_safeexec_needs_command" -s V -l version -d 'Print version'
complete -c safeexec -n "__fish_safeexec_needs_command" -f -a "policy" -d 'Work with policy files'
complete -c safeexec -n "__fish_safeexec_needs_command" -f -a "audit" -d 'Summarise a trace written by --trace: calls, errors and time per system call, the process tree, files, network attempts, denials'
complete -c safeexec -n "__fish_safeexec_needs_command" -f -a "check" -d 'Print what this host offers a sandbox (cgroup version and controllers, Landlock ABI, user namespaces, seccomp) and what safeexec will use; as root, a probe run cgroup is made and removed'
complete -c safeexec -n "__fish_safeexec_needs_command" -f -a "man" -d 'Print the manual page (roff) on stdout: `safeexec man | man -l -`'
complete -c safeexec -n "__fish_safeexec_needs_command" -f -a "completions" -d 'Print a completion script for SHELL on stdout'
complete -c safeexec -n "__fish_safeexec_needs_command" -f -a "judge" -d 'Judge submissions against a problem package: compile, run every test under the language\'s policy, compare, report verdicts (docs/judge.md)'
complete -c safeexec -n "__fish_safeexec_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and not __fish_seen_subcommand_from check show learn help" -s h -l help -d 'Print help'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and not __fish_seen_subcommand_from check show learn help" -f -a "check" -d 'Validate a policy file (a path or a shipped name): exit 0, or the errors'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and not __fish_seen_subcommand_from check show learn help" -f -a "show" -d 'Print the resolved policy: groups expanded, includes merged, and what the kernel filter or the supervisor does with each system call'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and not __fish_seen_subcommand_from check show learn help" -f -a "learn" -d 'Write a policy that allows what one run needed and nothing else: from a trace (--from TRACE), or by running the program with a full trace under the audit policy (limits and options, then --exec PROGRAM ARGS... last; --trace FILE keeps the learning run\'s trace)'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and not __fish_seen_subcommand_from check show learn help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l from -d 'Learn from this trace instead of running a program' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -s o -l output -d 'Write the policy to FILE instead of stdout' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l cpu -d 'CPU time of the whole run, seconds (fractions accepted) [default: 1]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l mem -l memory -d 'Peak resident memory of the whole run, KiB [default: 32768]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l space -d 'Address-space rlimit per process, KiB; 0 = none [default: 0]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l clock -d 'Wall clock of the whole run, seconds (fractions accepted) [default: 10]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l nproc -d 'Processes (and threads) the program may create; 0 = it cannot fork [default: 0]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l fsize -d 'Largest file the program may write, KiB [default: 8192]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l nfile -d 'Open descriptors per process [default: 64]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l stack -d 'Stack per process, KiB; 0 = unlimited [default: 8192]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l core -d 'Core file size, KiB [default: 0]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l disk -d 'What the program may write in its working directory in total, KiB: it writes into a bounded, run-private layer over the directory, and what it wrote is handed back into the directory, owned by the caller, when the run ends; past the bound: Output Limit Exceeded. 0 = write straight into the directory [default: 65536]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l niceness -d 'Niceness added to the program, 0..19' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l uidplus -d 'The run\'s uid is N + the supervisor\'s pid' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l gid -d 'The run\'s gid [default: the run\'s uid, a number no group has]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l chroot_dir -l chroot -d 'chroot into DIR before dropping root' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l exec_dir -l rundir -d 'Working directory (inside the chroot when there is one)' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l env_vars -d 'Environment of the program, comma separated: NAME (its value here) or NAME=VALUE. Nothing else is passed' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l usage -d 'Write the report to FILE instead of stderr' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l error -d 'Send the program\'s stderr to FILE' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l report -d 'Report format' -r -f -a "classic\t'The classic 4-line report'
json\t'One JSON object with full precision'"
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l policy -d 'Paranoid mode with this policy file (a path, or a shipped name such as default, python3, java, audit)' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l net -d 'The program\'s network: none (a new empty network namespace) or host' -r -f -a "none\t'A new network namespace: nothing is reachable'
host\t'The host\'s network'"
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l landlock -d 'Paranoid mode on a kernel without Landlock: `required` refuses a policy with path rules, `optional` runs with the supervisor\'s check alone and a warning (as `landlock optional` in the policy)' -r -f -a "required\t'A policy with read, write or exec path rules refuses to run'
optional\t'The supervisor\'s ptrace check alone, with a warning'"
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l jail -d 'A jail root built from read-only binds for a runtime: c, python3, java' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l ro-bind -d 'Bind SRC read-only into the jail (at DST, default the same path)' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l bind -d 'Bind SRC writable into the jail (at DST, default the same path)' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l tmpfs -d 'A fresh writable tmpfs at DST in the jail' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l allow-read -d 'Let the program read PATH (a directory: its whole tree): added to the policy\'s path rules and kept visible over the private /tmp. Opened with the caller\'s rights; a setuid caller must name a path under the administrator\'s allowed_dirs (repeatable)' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l allow-write -d 'Let the program write (and read) PATH (a directory: its whole tree), as --allow-read; the caller must be able to write it (repeatable)' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l trace -d 'Record the run\'s system calls and process events in FILE (JSON lines; docs/trace.md). Without --policy or --paranoid the shipped audit policy is used: every call runs and is recorded' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l trace-level -d 'What --trace records: every call, or only the calls a rule did not simply allow (fast: allowed calls never stop)' -r -f -a "all\t'Every system call, with its return value: every call stops for the supervisor (slower, like strace)'
denied\t'Only calls a rule did not simply allow (deny, kill, log, path violations), with the fast in-kernel filter: allowed calls never stop'"
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l trace-limit -d 'Largest --trace file, KiB: past it a final `truncated` record is written and recording stops (the run goes on, its verdict unchanged) [default: the --fsize value; at most 4194304]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l exec -d 'The program and its arguments: must come last' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l accept-failure -d 'Write the policy even when the learning run did not end OK (a policy learned from a failed run covers only what it did until then)'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l silent -d 'Print no report'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l paranoid -d 'Paranoid mode with the shipped default policy'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l ns -d 'PID, IPC and UTS namespaces and a fresh /proc (the default when root)'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l no-ns -d 'No PID, IPC or UTS namespace, no fresh /proc'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l no-filter -d 'Classic mode without its default seccomp filter (which refuses user namespaces, kernel keys, perf events, userfaultfd, bpf, io_uring, kexec, module loading, ptrace and personality changes)'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l cgroup -d 'A per-run cgroup even for a single-process run (by default only runs that may create processes, --nproc > 0, get one)'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l no-cgroup -d 'No per-run cgroup: accounting from wait4 and /proc only (a caller of a setuid install always gets one: the kernel bounds its memory)'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -l show-config -d 'Print the run\'s effective configuration (limits, policy, jail, cgroup, the administrator\'s bounds) as one JSON object on stdout, after every check a run makes before it starts, and exit without running the program'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -s v -l verbose -d 'Debug logging of each setup step (RUST_LOG works too, except in a setuid start, where it is ignored and -v shows safeexec\'s own lines only)'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from learn" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "check" -d 'Validate a policy file (a path or a shipped name): exit 0, or the errors'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the resolved policy: groups expanded, includes merged, and what the kernel filter or the supervisor does with each system call'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "learn" -d 'Write a policy that allows what one run needed and nothing else: from a trace (--from TRACE), or by running the program with a full trace under the audit policy (limits and options, then --exec PROGRAM ARGS... last; --trace FILE keeps the learning run\'s trace)'
complete -c safeexec -n "__fish_safeexec_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c safeexec -n "__fish_safeexec_using_subcommand audit" -l format -d 'text: the summary; json: the summary as one JSON object; strace: every call as `strace -f` prints it' -r -f -a "text\t'The summary: calls, errors and time per call, processes, files, network, denials'
json\t'The summary as one JSON object'
strace\t'One line per call in strace\'s style (decoded flags, errno names)'"
complete -c safeexec -n "__fish_safeexec_using_subcommand audit" -l json -d 'Print the summary as one JSON object (the same as --format json)'
complete -c safeexec -n "__fish_safeexec_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c safeexec -n "__fish_safeexec_using_subcommand check" -s h -l help -d 'Print help'
complete -c safeexec -n "__fish_safeexec_using_subcommand man" -s h -l help -d 'Print help'
complete -c safeexec -n "__fish_safeexec_using_subcommand completions" -s h -l help -d 'Print help'
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l lang -d 'The language of every SOURCE (default: from the file extension)' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l languages -d 'A languages file (TOML) whose entries replace the shipped ones by name' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l mode -d 'classic: limits, uid and namespaces only; paranoid: the language\'s policy too' -r -f -a "classic\t'No policy: rlimits, a unique uid, namespaces'
paranoid\t'The language\'s policy (ptrace + seccomp) on top'"
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l json -d 'Write every result as one JSON document to FILE (docs/judge.md)' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -s j -l jobs -d 'Runs at a time, each pinned to a CPU of its own [default: CPUs available]' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l shard -d 'Judge only the K-th of N slices of the work (1 <= K <= N)' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l time-limit -d 'Time limit in seconds (default: problem.yaml, .timelimit, else 1)' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l memory-limit -d 'Memory limit in MiB (default: problem.yaml, else 2048)' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l output-limit -d 'Output limit in MiB (default: problem.yaml, else 8)' -r
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l scratch -d 'Where build and run directories are made [default: $TMPDIR or /tmp]' -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l all -d 'Run every test, not only up to the first failure of each group'
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l verify -d 'Judge every submission under PROBLEM/submissions/ and check that each gets the verdict of its directory'
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -l keep -d 'Keep the scratch directory (its path is printed)'
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -a "merge" -d 'Join the JSON documents of the shards of one judging into the document an unsharded run writes (to stdout, or --output FILE)'
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and not __fish_seen_subcommand_from merge help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and __fish_seen_subcommand_from merge" -s o -l output -r -F
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and __fish_seen_subcommand_from merge" -s h -l help -d 'Print help'
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and __fish_seen_subcommand_from help" -f -a "merge" -d 'Join the JSON documents of the shards of one judging into the document an unsharded run writes (to stdout, or --output FILE)'
complete -c safeexec -n "__fish_safeexec_using_subcommand judge; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c safeexec -n "__fish_safeexec_using_subcommand help; and not __fish_seen_subcommand_from policy audit check man completions judge help" -f -a "policy" -d 'Work with policy files'
complete -c safeexec -n "__fish_safeexec_using_subcommand help; and not __fish_seen_subcommand_from policy audit check man completions judge help" -f -a "audit" -d 'Summarise a trace written by --trace: calls, errors and time per system call, the process tree, files, network attempts, denials'
complete -c safeexec -n "__fish_safeexec_using_subcommand help; and not __fish_seen_subcommand_from policy audit check man completions judge help" -f -a "check" -d 'Print what this host offers a sandbox (cgroup version and controllers, Landlock ABI, user namespaces, seccomp) and what safeexec will use; as root, a probe run cgroup is made and removed'
complete -c safeexec -n "__fish_safeexec_using_subcommand help; and not __fish_seen_subcommand_from policy audit check man completions judge help" -f -a "man" -d 'Print the manual page (roff) on stdout: `safeexec man | man -l -`'
complete -c safeexec -n "__fish_safeexec_using_subcommand help; and not __fish_seen_subcommand_from policy audit check man completions judge help" -f -a "completions" -d 'Print a completion script for SHELL on stdout'
complete -c safeexec -n "__fish_safeexec_using_subcommand help; and not __fish_seen_subcommand_from policy audit check man completions judge help" -f -a "judge" -d 'Judge submissions against a problem package: compile, run every test under the language\'s policy, compare, report verdicts (docs/judge.md)'
complete -c safeexec -n "__fish_safeexec_using_subcommand help; and not __fish_seen_subcommand_from policy audit check man completions judge help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c safeexec -n "__fish_safeexec_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "check" -d 'Validate a policy file (a path or a shipped name): exit 0, or the errors'
complete -c safeexec -n "__fish_safeexec_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "show" -d 'Print the resolved policy: groups expanded, includes merged, and what the kernel filter or the supervisor does with each system call'
complete -c safeexec -n "__fish_safeexec_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "learn" -d 'Write a policy that allows what one run needed and nothing else: from a trace (--from TRACE), or by running the program with a full trace under the audit policy (limits and options, then --exec PROGRAM ARGS... last; --trace FILE keeps the learning run\'s trace)'
complete -c safeexec -n "__fish_safeexec_using_subcommand help; and __fish_seen_subcommand_from judge" -f -a "merge" -d 'Join the JSON documents of the shards of one judging into the document an unsharded run writes (to stdout, or --output FILE)'
