/**
 * Newest published config version, as this replica knows it, with subscribers (the sync
 * server announces each one to its nodes). Versions only move forward. LocalVersionFeed
 * covers a single replica; a LISTEN/NOTIFY feed can implement the same interface so every
 * replica hears of versions another one published.
 */
export interface PublishedVersion {
  version: number;
  key: string;
  /** hex SHA-256 of the whole blob */
  sha256: string;
  /** wall-clock ms when the version became visible (LATEST written) */
  publishedAtMs: number;
}

export interface VersionFeed {
  latest(): PublishedVersion | undefined;
  /** records a version; ignored unless newer than the latest */
  offer(version: PublishedVersion): boolean;
  subscribe(listener: (version: PublishedVersion) => void): () => void;
}

export class LocalVersionFeed implements VersionFeed {
  private newest: PublishedVersion | undefined;
  private readonly listeners = new Set<(version: PublishedVersion) => void>();

  latest(): PublishedVersion | undefined {
    return this.newest;
  }

  offer(version: PublishedVersion): boolean {
    if (this.newest && version.version <= this.newest.version) return false;
    this.newest = version;
    for (const listener of this.listeners) listener(version);
    return true;
  }

  subscribe(listener: (version: PublishedVersion) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
