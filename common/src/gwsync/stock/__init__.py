"""Step 2: stock kept in sync both ways.

`events` verifies the Gateway's signed stock events (gateway-api.md B17), `queue` keeps
them durably until they land, `apply` turns one event into a platform write (relative
where the platform has it, a guarded read-modify-write otherwise), `service` is the
HTTP service (`gateway-<platform> serve`) and its workers.
"""
