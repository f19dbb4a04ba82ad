"""CPU ray casting of triangle meshes (embree through trimesh).

One call of :func:`render_scene` gives instance ids, depth, shaded colour, hit faces,
hit points, barycentric coordinates and per-vertex visibility for a pinhole
:class:`Camera` (OpenCV axes; integer pixel coordinates are pixel centres).
"""

from hoirecon.render.camera import Camera, look_at_camera
from hoirecon.render.image import masks, overlay, save_png
from hoirecon.render.mesh import SceneMesh
from hoirecon.render.raycast import embree_available
from hoirecon.render.renderer import BACKGROUND_COLOR, RenderResult, render_scene
from hoirecon.render.visibility import DEFAULT_VISIBILITY_TOL

__all__ = [
    "BACKGROUND_COLOR",
    "DEFAULT_VISIBILITY_TOL",
    "Camera",
    "RenderResult",
    "SceneMesh",
    "embree_available",
    "look_at_camera",
    "masks",
    "overlay",
    "render_scene",
    "save_png",
]
