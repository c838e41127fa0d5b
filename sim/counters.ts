export interface SimCounters {
  requests: number;
  /** Most requests in flight at once since the last reset. */
  peakConcurrent: number;
  inFlight: number;
  byStatus: Record<number, number>;
}

/** Request counters, overall and per workspace, for asserting concurrency and retries. */
export class RequestCounters {
  readonly #all = emptyCounters();
  readonly #byWorkspace = new Map<string, SimCounters>();

  /** Returns the function that ends the request, safe to call more than once. */
  begin(workspace: string | undefined): (status?: number) => void {
    const targets = workspace === undefined ? [this.#all] : [this.#all, this.#for(workspace)];
    for (const counters of targets) {
      counters.requests += 1;
      counters.inFlight += 1;
      counters.peakConcurrent = Math.max(counters.peakConcurrent, counters.inFlight);
    }
    let ended = false;
    return (status) => {
      if (ended) return;
      ended = true;
      for (const counters of targets) {
        counters.inFlight -= 1;
        if (status !== undefined) counters.byStatus[status] = (counters.byStatus[status] ?? 0) + 1;
      }
    };
  }

  snapshot(workspace?: string): SimCounters {
    const counters = workspace === undefined ? this.#all : this.#for(workspace);
    return { ...counters, byStatus: { ...counters.byStatus } };
  }

  /** Zeroes counts; the peak restarts from what is in flight now. */
  reset(): void {
    for (const counters of [this.#all, ...this.#byWorkspace.values()]) {
      counters.requests = 0;
      counters.byStatus = {};
      counters.peakConcurrent = counters.inFlight;
    }
  }

  #for(workspace: string): SimCounters {
    let counters = this.#byWorkspace.get(workspace);
    if (!counters) {
      counters = emptyCounters();
      this.#byWorkspace.set(workspace, counters);
    }
    return counters;
  }
}

function emptyCounters(): SimCounters {
  return { requests: 0, peakConcurrent: 0, inFlight: 0, byStatus: {} };
}
