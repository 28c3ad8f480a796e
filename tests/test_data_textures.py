"""cnnkit.data.textures: texture patches cut from scikit-image's photos."""


import numpy as np
import pytest
import skimage.data

from cnnkit import data
from cnnkit.data import textures


def test_texture_patches_tile_the_photo():
    patches = textures.texture_patches("grass", 64)
    assert patches.shape == (64, 64, 64)
    photo = np.asarray(skimage.data.grass(), np.float32) / 255
    np.testing.assert_array_equal(np.concatenate(patches[:8], axis=1), photo[:64])  # first row of patches
    np.testing.assert_array_equal(patches[9], photo[64:128, 64:128])
    big = data.load_textures(patch_size=100)  # 5 x 5 patches per photo; the 12-pixel edges are left out
    assert big.input_shape == (100, 100, 1) and len(big.x_train) + len(big.x_val) + len(big.x_test) == 75
    with pytest.raises(ValueError, match=r"patch_size must be an integer in \[8, 256\] \(pixels\); received 4"):
        data.load_textures(patch_size=4)
    with pytest.raises(ValueError, match=r"name must be one of"):
        textures.texture_patches("sand", 32)
