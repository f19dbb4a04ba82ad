"""Datasets built from the user's own photos or video frames: frames, detections, pairing, annotation, poses."""
