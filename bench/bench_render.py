"""Time one 256x256 render of a body-sized mesh plus an object, all outputs included.

Scene: a closed capsule of ~7k vertices / ~14k faces standing in for a body and a
~1k-vertex ellipsoid for the object, 2.5 m in front of the camera. Both move a little
every frame so no per-geometry cache can help. Reports the median ms per frame.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import trimesh

from hoirecon.render import Camera, SceneMesh, embree_available, render_scene

SIZE = 256
FRAMES = 20
TARGET_MS = 50.0


def _scene_meshes(frame: int) -> list[SceneMesh]:
    """The benchmark body and object for ``frame``, rotated about the vertical axis."""
    body = trimesh.creation.capsule(height=1.3, radius=0.22, count=[64, 110])
    body.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
    obj = trimesh.creation.uv_sphere(radius=1.0, count=[24, 24])
    obj.apply_scale([0.25, 0.15, 0.2])
    angle = 0.05 * frame
    spin = trimesh.transformations.rotation_matrix(angle, [0, 1, 0])[:3, :3]
    body_v = body.vertices @ spin.T + [0.0, 0.0, 2.5]
    obj_v = obj.vertices @ spin.T + [0.3 + 0.01 * frame, 0.1, 2.2]
    return [
        SceneMesh(body_v, body.faces, (0.8, 0.6, 0.5), "human"),
        SceneMesh(obj_v, obj.faces, (0.3, 0.5, 0.9), "object"),
    ]


def main() -> None:
    """Render FRAMES frames and print the median ms/frame against the target."""
    K = np.array([[280.0, 0.0, 127.5], [0.0, 280.0, 127.5], [0.0, 0.0, 1.0]])
    camera = Camera(K, SIZE, SIZE)
    scenes = [_scene_meshes(i) for i in range(FRAMES + 2)]
    render_scene(scenes[0], camera)  # warm-up: imports, ray cache
    times, cpu = [], []
    for meshes in scenes[2:]:
        start, start_cpu = time.perf_counter(), time.process_time()
        render_scene(meshes, camera)
        times.append(1e3 * (time.perf_counter() - start))
        cpu.append(1e3 * (time.process_time() - start_cpu))
    nv = sum(len(m.vertices) for m in scenes[0])
    nf = sum(len(m.faces) for m in scenes[0])
    ms = statistics.median(times)
    verdict = "OK" if ms <= TARGET_MS else "OVER"
    sys.stdout.write(
        f"render {SIZE}x{SIZE}, {nv} vertices, {nf} faces, embree={embree_available()}: "
        f"{ms:.1f} ms/frame median over {FRAMES} (min {min(times):.1f}, "
        f"CPU {statistics.median(cpu):.1f}); "
        f"target <= {TARGET_MS:.0f} ms [{verdict}]\n"
    )


if __name__ == "__main__":
    main()
