// The request controllers' World over a FakeObjectApi: each informer answers from the fake's
// store at the moment it is asked, like an informer that never lags. Enough for step handlers,
// which only read the informers (get, list, the namespace index); nothing here runs a watch.
import type { KubeObject } from "../../src/kube/client.ts";
import type { InformerFactory } from "../../src/runtime/informer-factory.ts";
import { objectKey } from "../../src/runtime/keys.ts";
import { NAMESPACE_INDEX } from "../../src/runtime/store.ts";
import { World } from "../../src/controllers/request/world.ts";
import type { FakeObjectApi } from "./object-api.ts";

class StoreView {
  readonly apiVersion: string;
  readonly kind: string;
  readonly #api: FakeObjectApi;

  constructor(api: FakeObjectApi, apiVersion: string, kind: string) {
    this.#api = api;
    this.apiVersion = apiVersion;
    this.kind = kind;
  }

  get(key: string): KubeObject | undefined {
    return this.list().find((o) => objectKey(o.metadata) === key);
  }

  list(): KubeObject[] {
    return this.#api.objects(this.apiVersion, this.kind);
  }

  byIndex(name: string, value: string): KubeObject[] {
    if (name !== NAMESPACE_INDEX) throw new Error(`the fake world has no index ${name}`);
    return this.list().filter((o) => (o.metadata.namespace ?? "") === value);
  }

  onChange(): () => void {
    return () => undefined;
  }

  addIndex(): void {}
}

export function fakeWorld(api: FakeObjectApi): World {
  const factory = {
    for: (apiVersion: string, kind: string) => new StoreView(api, apiVersion, kind),
  };
  return new World(factory as unknown as InformerFactory);
}
