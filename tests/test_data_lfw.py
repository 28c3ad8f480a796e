"""cnnkit.data.lfw: scikit-image's LFW subset (faces and non-faces)."""


import numpy as np
import skimage.data

from cnnkit import data


def test_lfw_subset_labels_faces_as_one():
    ds = data.load_lfw_subset(val_fraction=0.1, test_fraction=0.1, seed=0)
    assert ds.class_names == ["non_face", "face"]
    # The first 100 images of scikit-image's file are the faces.
    original = np.asarray(skimage.data.lfw_subset(), np.float32)
    face_rows = {row.tobytes() for row in original[:100].reshape(100, -1)}
    flat = ds.x_train.reshape(len(ds.x_train), -1)
    assert all((row.tobytes() in face_rows) == bool(label) for row, label in zip(flat, ds.y_train))
