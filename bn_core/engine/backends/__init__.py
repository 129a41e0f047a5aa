"""Where runs train. Every backend has the same small interface, used by `Run` and the registry:

- `submit(run, cmd)`: train `run` (a "start" command for its new attempt); the backend decides
  where and when, and may queue it (it then calls `run.set_queue(position, seconds)`);
- `command(run, cmd)`: pause, resume, step, pace or stop it;
- `forget(run)`: the registry has dropped the run: free whatever the backend holds for it;
- `rows()`: one dict per training host, for the server status page;
- `shutdown()`: stop everything, leaving no thread or process behind.

Trainers report back by calling `run.apply(update)` (bn_core/engine/records.py describes an
update). Backends: `inprocess` (a thread in this process: tests and the command line),
`workers` (worker processes: the app's default) and `ray` (Ray actors on a cluster).
"""
