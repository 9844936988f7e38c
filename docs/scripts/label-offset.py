"""Where a site's labels sit against a model's predictions: per patient, the mean in-plane offset of
the label's centroid from the prediction's (voxels, slice by slice), and the Dice per structure after
shifting the labels by every whole-voxel offset up to 3. A large offset in the same direction for
every patient, with Dice rising when the labels are shifted back, says the labels are misregistered
with their images (a conversion artefact) rather than that the model is wrong.

  /usr/bin/python3 docs/scripts/label-offset.py DATA_DIR PREDICTIONS_DIR [FIGURE.png]

DATA_DIR holds ID.nii.gz and ID_gt.nii.gz (nifti-pairs), PREDICTIONS_DIR the `lgefed predict`
output ID.nii.gz for each ID. With FIGURE.png, draws three slices of the patient with the largest
offset: the image, the label's outlines (green) and the prediction's (red).
Needs Debian's python3-nibabel, python3-scipy, python3-skimage.
"""
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

STRUCTURES = {1: 'blood pool', 2: 'myocardium'}


def dice(a, b):
    total = a.sum() + b.sum()
    return 2 * (a & b).sum() / total if total else 1.0


def shifted_dice(label, prediction, di, dj):
    moved = np.roll(np.roll(label, di, 0), dj, 1)
    return [dice(moved == c, prediction == c) for c in STRUCTURES]


def offsets(label, prediction):
    rows = []
    for k in range(label.shape[2]):
        if (label[:, :, k] > 0).any() and (prediction[:, :, k] > 0).any():
            rows.append(np.subtract(ndimage.center_of_mass(label[:, :, k] > 0), ndimage.center_of_mass(prediction[:, :, k] > 0)))
    return np.array(rows)


def figure(image, label, prediction, path):
    from skimage import io, segmentation
    rows = []
    slices = [k for k in range(label.shape[2]) if (label[:, :, k] > 0).any()]
    for k in (slices[len(slices) // 4], slices[len(slices) // 2], slices[3 * len(slices) // 4]):
        ci, cj = (int(v) for v in ndimage.center_of_mass(label[:, :, k] > 0))
        window = (slice(max(ci - 40, 0), ci + 40), slice(max(cj - 40, 0), cj + 40))
        x = image[:, :, k][window].astype(float)
        x = (x - x.min()) / max(x.max() - x.min(), 1e-6)
        grey = np.stack([x] * 3, -1)
        outlined = segmentation.mark_boundaries(grey, label[:, :, k][window], color=(0, 1, 0))
        outlined = segmentation.mark_boundaries(outlined, prediction[:, :, k][window], color=(1, 0, 0))
        rows.append(np.concatenate([grey, outlined], 1))
    picture = np.kron(np.concatenate(rows, 0), np.ones((3, 3, 1)))
    io.imsave(path, (picture * 255).astype(np.uint8), check_contrast=False)


def main(data_dir, predictions_dir, figure_path=None):
    worst = None
    for gt in sorted(Path(data_dir).glob('*_gt.nii.gz')):
        case = gt.name[: -len('_gt.nii.gz')]
        label = np.asarray(nib.load(gt).dataobj).astype(np.uint8)
        prediction = np.asarray(nib.load(Path(predictions_dir) / f'{case}.nii.gz').dataobj).astype(np.uint8)
        rows = offsets(label, prediction)
        if len(rows) == 0:
            print(f'{case}: no slice has both a label and a prediction')
            continue
        mean = rows.mean(0)
        scores = {(di, dj): shifted_dice(label, prediction, di, dj) for di in range(-3, 4) for dj in range(-3, 4)}
        best = max(scores, key=lambda s: scores[s][1])
        print(f'{case}: label centroid - prediction centroid {mean[0]:+.2f}, {mean[1]:+.2f} voxels; '
              f'Dice {" / ".join(f"{d:.3f}" for d in scores[(0, 0)])} as labelled, '
              f'{" / ".join(f"{d:.3f}" for d in scores[best])} with the labels shifted by {best} ({" / ".join(STRUCTURES.values())})')
        if worst is None or np.abs(mean).sum() > worst[0]:
            worst = (np.abs(mean).sum(), Path(data_dir) / f'{case}.nii.gz', label, prediction)
    if figure_path and worst:
        figure(np.asarray(nib.load(worst[1]).dataobj), worst[2], worst[3], figure_path)
        print(f'wrote {figure_path} ({worst[1].name})')


if __name__ == '__main__':
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
