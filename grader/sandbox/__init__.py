"""The sandbox: bubblewrap, cgroups, seccomp, zygotes, and the worker that runs inside."""
