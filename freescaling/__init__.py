"""Free Scaling's Python package: the generated protobuf code (`freescaling.<service>.v1`), the
client (`freescaling.client`), the CLI, and the module-level API the seed project's users know:
`from freescaling import scale, generate, health, scale_batch, generate_batch, evolve`
(freescaling/api.py), with `freescaling.elo` and `freescaling.feedback`, and our
`capability_map()` (the seed's capability_map.json, from learning)."""

_API = {
    "scale",
    "generate",
    "health",
    "scale_batch",
    "generate_batch",
    "evolve",
    "configure",
    "capability_map",
}


def __getattr__(name: str):
    # Loaded on first use, so that importing the generated code costs no client.
    if name in _API:
        from freescaling import api

        return getattr(api, name)
    raise AttributeError(f"module 'freescaling' has no attribute {name!r}")


__all__ = sorted(_API)
