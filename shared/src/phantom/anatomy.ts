import type { Random } from './random.js';

/** Tissue classes the phantom paints; intensities and every site's labels derive from them. */
export const Tissue = {
  air: 0,
  softTissue: 1,
  subcutaneousFat: 2,
  muscle: 3,
  lung: 4,
  liver: 5,
  vessel: 6, // aorta, atria: bright blood that is not LV
  spine: 7,
  epicardialFat: 8,
  rvWall: 9,
  rvBlood: 10,
  lvMyocardium: 11,
  lvBlood: 12,
  scar: 13,
  noReflow: 14,
  papillary: 15, // papillary muscles: myocardial signal inside the cavity, labelled blood pool as annotators do
  bowel: 16, // stomach and bowel loops below the diaphragm: mid-to-bright, textured
  bowelGas: 17, // gas in stomach or colon: dark
  fatPad: 18, // pericardial, diaphragmatic and mediastinal fat layers: bright
  pulmonaryVessel: 19, // vessels seen end-on in the lung: small bright dots
  trabeculae: 20, // endocardial trabeculation: myocardial signal at the cavity edge, labelled blood pool
} as const;
export const TISSUE_COUNT = 21;

type Territory = 'LAD' | 'LCx' | 'RCA';

/**
 * A structure around the heart (bowel loop, gas pocket, fat layer, lung vessel): an ellipse that exists
 * for long-axis positions `from`..`to` and drifts by `drift` mm per unit of t, so it moves between slices.
 */
export interface Blob {
  readonly tissue: number;
  readonly centre: readonly [number, number];
  readonly radii: readonly [number, number];
  readonly angle: number;
  readonly from: number;
  readonly to: number;
  readonly drift: readonly [number, number];
  /** Tissues it may replace: bowel stays in soft tissue and liver, lung vessels in lung. */
  readonly within: readonly number[];
}

/** One patient's anatomy, in mm, image axes (+x right = patient left, +y down = posterior). */
export interface Anatomy {
  /** LV long-axis centre in the field of view, mm from its top-left corner. */
  readonly lvCentre: readonly [number, number];
  /** Heart rotation in the image plane (rad); the RV lies toward angle π + rotation. */
  readonly rotation: number;
  readonly ellipticity: number;
  /** Basal endocardial radius and wall thickness, mm. */
  readonly endoRadius: number;
  readonly wall: number;
  /** Low-order shape harmonics of the endocardium (relative amplitude, phase). */
  readonly harmonics: readonly (readonly [number, number])[];
  /** LV length base→apex, mm. */
  readonly length: number;
  readonly rv: { readonly width: number; readonly height: number; readonly wall: number };
  /** Epicardial fat: a thin `base` layer all round (the bright epicardial line on LGE) plus a lobe of `thickness` toward `angle`. */
  readonly epicardialFat: { readonly base: number; readonly thickness: number; readonly angle: number };
  readonly body: { readonly centre: readonly [number, number]; readonly a: number; readonly b: number; readonly fat: number; readonly muscle: number };
  readonly aortaRadius: number;
  /** Papillary muscles: angles in heart coordinates (anterolateral, posteromedial) and radius, mm. */
  readonly papillary: { readonly angles: readonly [number, number]; readonly radius: number };
  /** Angle of the LV outflow tract, which opens the basal myocardial ring toward the aorta. */
  readonly outflowAngle: number;
  /** Trabeculation: small bumps of myocardial signal at the endocardium (angle, depth mm, width rad). */
  readonly trabeculae: readonly (readonly [number, number, number])[];
  /** Abdominal and mediastinal clutter, painted over the body before the heart. */
  readonly clutter: readonly Blob[];
  readonly infarct?: {
    readonly territory: Territory;
    readonly angle: number;
    readonly halfWidth: number;
    /** Fraction of the wall from the endocardium at the sector centre: <0.5 sub-endocardial, 1 transmural. */
    readonly transmurality: number;
    readonly from: number;
    readonly to: number;
    readonly noReflow: boolean;
  };
}

// Territory centres in heart coordinates (RV at angle π): LAD anterior/anteroseptal, LCx lateral, RCA inferior.
const TERRITORY_ANGLE: Record<Territory, number> = { LAD: -2.0, LCx: 0.1, RCA: 2.0 };

const SOFT = [Tissue.softTissue, Tissue.liver, Tissue.muscle];

/** `count` blobs of one kind scattered `near`..`far` mm from `centre`. */
function sampleBlobs(
  rng: Random,
  count: number,
  tissue: number,
  centre: readonly [number, number],
  near: number,
  far: number,
  radii: readonly [readonly [number, number], readonly [number, number]],
  within: readonly number[],
): Blob[] {
  return [...Array(count)].map(() => {
    const angle = rng.uniform(0, 2 * Math.PI);
    const distance = rng.uniform(near, far);
    const from = rng.uniform(-0.4, 1.1);
    return {
      tissue,
      centre: [centre[0] + distance * Math.cos(angle), centre[1] + distance * Math.sin(angle)] as const,
      radii: [rng.uniform(...radii[0]), rng.uniform(...radii[1])] as const,
      angle: rng.uniform(0, Math.PI),
      from,
      to: from + rng.uniform(0.15, 0.7),
      drift: [rng.uniform(-30, 30), rng.uniform(-30, 30)] as const,
      within,
    };
  });
}

export function sampleAnatomy(rng: Random, fov: readonly [number, number], infarctRate: number, noReflowRate: number): Anatomy {
  // End-diastolic post-infarction LVs (EMIDEC, MS-CMRSeg): basal cavity 46-68 mm across, wall 8-13 mm
  // (EMIDEC's largest LV cross-section is 72-103 mm across, 10th-90th percentile).
  const endoRadius = rng.uniform(23, 34);
  const wall = rng.uniform(8, 13);
  const lvCentre: [number, number] = [fov[0] / 2 + rng.uniform(-10, 30), fov[1] / 2 + rng.uniform(-25, 15)];
  // Chest half-width and half-depth: the heart lies close behind a thick anterior wall, so a
  // heart-centred window holds tissue, not air.
  const a = rng.uniform(150, 190);
  const b = rng.uniform(105, 140);
  const infarcted = rng.chance(infarctRate);
  const territory = rng.pick<Territory>(['LAD', 'LAD', 'LCx', 'RCA']);
  const span = territory === 'LAD' ? [rng.uniform(0.2, 0.5), rng.uniform(0.85, 1)] : [rng.uniform(0, 0.2), rng.uniform(0.5, 0.8)];
  return {
    lvCentre,
    rotation: 0.35 + 0.25 * rng.gaussian(),
    ellipticity: rng.uniform(0.85, 1.18),
    endoRadius,
    wall,
    harmonics: [1, 2, 3].map((n) => [rng.uniform(0, 0.06 / n), rng.uniform(0, 2 * Math.PI)] as const),
    length: rng.uniform(75, 98),
    rv: { width: rng.uniform(0.7, 0.95) * (endoRadius + wall), height: rng.uniform(1.25, 1.55) * (endoRadius + wall), wall: rng.uniform(2.5, 4) },
    epicardialFat: { base: rng.uniform(0.5, 2), thickness: rng.uniform(1, 6), angle: rng.uniform(0, 2 * Math.PI) },
    body: { centre: [lvCentre[0] - rng.uniform(20, 45), lvCentre[1] + rng.uniform(10, 30)], a, b, fat: rng.uniform(8, 24), muscle: rng.uniform(8, 16) },
    aortaRadius: rng.uniform(10, 14),
    papillary: { angles: [-0.9 + rng.uniform(-0.3, 0.3), 1.1 + rng.uniform(-0.3, 0.3)], radius: rng.uniform(3, 5.5) },
    outflowAngle: -2.5 + rng.uniform(-0.3, 0.3),
    trabeculae: [...Array(rng.int(4, 10))].map(() => [rng.uniform(0, 2 * Math.PI), rng.uniform(1.5, 4), rng.uniform(0.08, 0.22)] as const),
    clutter: [
      ...sampleBlobs(rng, rng.int(4, 10), Tissue.bowel, lvCentre, 45, 120, [[8, 22], [5, 14]], SOFT),
      ...sampleBlobs(rng, rng.int(1, 4), Tissue.bowelGas, lvCentre, 50, 120, [[4, 14], [3, 9]], [Tissue.softTissue, Tissue.bowel]),
      ...sampleBlobs(rng, rng.int(4, 9), Tissue.fatPad, lvCentre, 35, 110, [[12, 40], [2, 6]], SOFT),
      ...sampleBlobs(rng, rng.int(10, 24), Tissue.pulmonaryVessel, lvCentre, 40, 140, [[1.5, 4], [1.5, 3]], [Tissue.lung]),
    ],
    ...(infarcted
      ? {
          infarct: {
            territory,
            angle: TERRITORY_ANGLE[territory] + rng.uniform(-0.4, 0.4),
            halfWidth: rng.uniform(0.35, 1.0),
            transmurality: rng.uniform(0.25, 1),
            from: span[0]!,
            to: span[1]!,
            noReflow: rng.chance(noReflowRate),
          },
        }
      : {}),
  };
}

/** sqrt(1 - s³) for s in [0, 1], 0 beyond: how LV radii shrink toward the apex. */
const taper = (s: number) => (s >= 1 ? 0 : s <= 0 ? 1 : Math.sqrt(1 - s * s * s));

const insideEllipse = (x: number, y: number, cx: number, cy: number, a: number, b: number) => ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1;

/**
 * Paints the tissue class of every pixel of a `width`×`height` slice with pixel spacing `pixel` (mm) at
 * long-axis position `t` (0 base, 1 apex; below 0 the atria and outflow tract, above 1 below the apex).
 */
export function paintSlice(anatomy: Anatomy, t: number, width: number, height: number, pixel: readonly [number, number]): Uint8Array {
  const out = new Uint8Array(width * height);
  const { body, lvCentre, rotation, ellipticity, infarct } = anatomy;
  const cosR = Math.cos(rotation);
  const sinR = Math.sin(rotation);
  const rEndo = anatomy.endoRadius * taper(t / 0.9);
  const rEpi = (anatomy.endoRadius + anatomy.wall) * taper(t);
  const rvScale = taper(t / 0.85);
  const rvW = anatomy.rv.width * rvScale;
  const rvH = anatomy.rv.height * rvScale;
  const rvCx = -(rEpi + rvW * 0.45);
  const showLv = t >= 0 && rEpi > 1;
  const scarHere = infarct && t >= infarct.from && t <= infarct.to;
  const liverScale = Math.min(1, Math.max(0, (t - 0.35) / 0.6));
  const minDim = Math.min(body.a, body.b);
  // Basal slices: the outflow tract opens the ring over a sector that closes within the first 12% of the LV.
  const outflowHalfWidth = t >= 0 && t < 0.12 ? 0.55 * (1 - t / 0.12) : 0;
  const fatReach = anatomy.epicardialFat.base + anatomy.epicardialFat.thickness;
  const reach = rEpi + (outflowHalfWidth > 0 ? Math.max(fatReach, anatomy.aortaRadius) : fatReach);
  const papillaryHere = t > 0.2 && t < 0.85;
  const papillaryRadius = anatomy.papillary.radius * taper((t - 0.2) / 0.65);
  const papillaryCentres = anatomy.papillary.angles.map((a) => [Math.cos(a), Math.sin(a)] as const);
  // Clutter present at this level, so the per-pixel loop only visits what can be there.
  const clutter = anatomy.clutter.filter((b) => t >= b.from && t <= b.to);
  for (let j = 0; j < height; j++) {
    const y = (j + 0.5) * pixel[1];
    for (let i = 0; i < width; i++) {
      const x = (i + 0.5) * pixel[0];
      let tissue: number = Tissue.air;
      const bx = (x - body.centre[0]) / body.a;
      const by = (y - body.centre[1]) / body.b;
      const rb = Math.sqrt(bx * bx + by * by);
      if (rb <= 1) {
        const depth = (1 - rb) * minDim;
        tissue = depth < body.fat ? Tissue.subcutaneousFat : depth < body.fat + body.muscle ? Tissue.muscle : Tissue.softTissue;
        const cx = body.centre[0];
        const cy = body.centre[1];
        if (insideEllipse(x, y, cx - 0.5 * body.a, cy - 0.05 * body.b, 0.34 * body.a, 0.6 * body.b)) tissue = Tissue.lung;
        if (insideEllipse(x, y, cx + 0.52 * body.a, cy + 0.05 * body.b, 0.3 * body.a, 0.55 * body.b)) tissue = Tissue.lung;
        if (liverScale > 0 && insideEllipse(x, y, cx - 0.32 * body.a, cy + 0.3 * body.b, 0.5 * body.a * liverScale, 0.45 * body.b * liverScale)) tissue = Tissue.liver;
        for (const blob of clutter) {
          if (!blob.within.includes(tissue)) continue;
          const ex = x - blob.centre[0] - blob.drift[0] * t;
          const ey = y - blob.centre[1] - blob.drift[1] * t;
          const cb = Math.cos(blob.angle);
          const sb = Math.sin(blob.angle);
          if (insideEllipse(ex * cb + ey * sb, -ex * sb + ey * cb, 0, 0, blob.radii[0], blob.radii[1])) tissue = blob.tissue;
        }
        if (insideEllipse(x, y, cx, cy + 0.72 * body.b, 20, 17)) tissue = Tissue.spine;
        if (insideEllipse(x, y, cx + 28, cy + 0.5 * body.b, anatomy.aortaRadius, anatomy.aortaRadius)) tissue = Tissue.vessel;
      }
      // Heart coordinates: u along the LV→lateral axis, v across; RV lies at negative u.
      const dx = x - lvCentre[0];
      const dy = y - lvCentre[1];
      const u = (dx * cosR + dy * sinR) / ellipticity;
      const v = (-dx * sinR + dy * cosR) * ellipticity;
      const rho = Math.sqrt(u * u + v * v);
      if (t < 0) {
        // Above the base: left atrium and aortic root, bright blood that carries no LV label.
        if (rho < anatomy.endoRadius * 1.1 * (1 + t)) tissue = Tissue.vessel;
        out[j * width + i] = tissue;
        continue;
      }
      if (rvScale > 0 && insideEllipse(u, v, rvCx, 0, rvW + anatomy.rv.wall, rvH + anatomy.rv.wall) && rho > rEpi) {
        tissue = insideEllipse(u, v, rvCx, 0, rvW, rvH) && rho > rEpi + anatomy.rv.wall ? Tissue.rvBlood : Tissue.rvWall;
      }
      if (showLv && rho < reach) {
        const phi = Math.atan2(v, u);
        let shape = 1;
        for (let n = 0; n < anatomy.harmonics.length; n++) shape += anatomy.harmonics[n]![0] * Math.cos((n + 1) * phi - anatomy.harmonics[n]![1]);
        const endo = rEndo * shape;
        const epi = rEpi * shape;
        const fat = anatomy.epicardialFat.base + anatomy.epicardialFat.thickness * Math.max(0, Math.cos(phi - anatomy.epicardialFat.angle)) ** 2;
        let dOutflow = Math.abs(phi - anatomy.outflowAngle);
        if (dOutflow > Math.PI) dOutflow = 2 * Math.PI - dOutflow;
        const outflow = dOutflow < outflowHalfWidth;
        if (rho < endo) {
          tissue = Tissue.lvBlood;
          for (const [angle, depth, width] of anatomy.trabeculae) {
            let dTrab = Math.abs(phi - angle);
            if (dTrab > Math.PI) dTrab = 2 * Math.PI - dTrab;
            // A rounded bump into the cavity, thinning toward the apex with the cavity itself.
            if (dTrab < width && rho > endo - depth * taper(t) * Math.cos((dTrab / width) * (Math.PI / 2))) tissue = Tissue.trabeculae;
          }
          if (papillaryHere) {
            const centreDistance = endo - papillaryRadius * 0.8;
            for (const [cu, cv] of papillaryCentres) {
              if ((u - cu * centreDistance) ** 2 + (v - cv * centreDistance) ** 2 < papillaryRadius * papillaryRadius) tissue = Tissue.papillary;
            }
          }
        } else if (outflow && rho < epi) {
          // Annotators close the cavity across the outflow tract: the gap in the ring is cavity...
          tissue = Tissue.lvBlood;
        } else if (outflowHalfWidth > 0 && dOutflow < outflowHalfWidth + 0.15 && rho >= epi && rho < epi + anatomy.aortaRadius) {
          // ...and beyond the ring (a little wider, so the cavity only meets outflow blood) it is
          // outflow-tract blood, bright but not LV.
          tissue = Tissue.vessel;
        } else if (rho < epi) {
          tissue = Tissue.lvMyocardium;
          if (scarHere) {
            let dphi = Math.abs(phi - infarct.angle);
            if (dphi > Math.PI) dphi = 2 * Math.PI - dphi;
            if (dphi < infarct.halfWidth) {
              // Wavefront: deepest at the sector centre, sub-endocardial at its edges.
              const extent = infarct.transmurality * Math.cos((dphi / infarct.halfWidth) * (Math.PI / 2)) ** 0.5;
              const depth = (rho - endo) / Math.max(epi - endo, 1e-6);
              if (depth <= extent) {
                const core = infarct.noReflow && dphi < 0.5 * infarct.halfWidth && depth < 0.45 * extent && t > infarct.from + 0.1 && t < infarct.to - 0.1;
                tissue = core ? Tissue.noReflow : Tissue.scar;
              }
            }
          }
        } else if (rho < epi + fat && tissue !== Tissue.rvBlood) tissue = Tissue.epicardialFat;
      }
      out[j * width + i] = tissue;
    }
  }
  return out;
}
