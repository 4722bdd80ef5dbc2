// Volumes and snapshots as folders: a snapshot copies the volume's folder, a restore copies the
// snapshot's folder into a new volume. This is what makes "the data came back" testable.
import { cp, mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { pathExists } from "../fs-util.ts";

export class VolumeStore {
  readonly volumesDir: string;
  readonly snapshotsDir: string;

  constructor(root: string) {
    this.volumesDir = join(root, "volumes");
    this.snapshotsDir = join(root, "snapshots");
  }

  volumePath(handle: string): string {
    return join(this.volumesDir, safe(handle));
  }

  snapshotPath(handle: string): string {
    return join(this.snapshotsDir, safe(handle));
  }

  /** Creates the volume's folder, filled from a snapshot or another volume. Idempotent: an
   *  existing folder is left as it is (a crash after the copy must not copy twice). */
  async createVolume(
    handle: string,
    from?: { kind: "snapshot" | "volume"; handle: string },
  ): Promise<void> {
    const target = this.volumePath(handle);
    if (await pathExists(target)) return;
    const staging = `${target}.partial`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(this.volumesDir, { recursive: true });
    if (from) {
      const source =
        from.kind === "snapshot" ? this.snapshotPath(from.handle) : this.volumePath(from.handle);
      await cp(source, staging, { recursive: true, errorOnExist: false });
    } else {
      await mkdir(staging, { recursive: true });
    }
    // Renamed into place only when complete, so a crash never leaves a half-copied volume.
    await rename(staging, target);
  }

  async snapshotVolume(volumeHandle: string, snapshotHandle: string): Promise<void> {
    const target = this.snapshotPath(snapshotHandle);
    if (await pathExists(target)) return;
    const staging = `${target}.partial`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(this.snapshotsDir, { recursive: true });
    await cp(this.volumePath(volumeHandle), staging, { recursive: true });
    // Renamed into place only when complete, so a crash never leaves a half-copied volume.
    await rename(staging, target);
  }

  async deleteVolume(handle: string): Promise<void> {
    await rm(this.volumePath(handle), { recursive: true, force: true });
  }

  async deleteSnapshot(handle: string): Promise<void> {
    await rm(this.snapshotPath(handle), { recursive: true, force: true });
  }
}

function safe(handle: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(handle) || handle.startsWith(".")) {
    throw new Error(`invalid volume handle ${JSON.stringify(handle)}`);
  }
  return handle;
}
