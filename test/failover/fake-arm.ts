// A fake Azure Resource Manager for the compute calls the azure-zrs provider makes, plugged into
// the real SDK as its HttpClient: responses shaped like recorded ARM responses (disk and VM
// bodies, etags, If-Match -> 412, long-running PATCH with Azure-AsyncOperation polling, ARM error
// bodies). Every request is logged as "METHOD path" for call-sequence assertions; `inject` queues
// canned responses for the next matching request (throttling, conflicts, failed operations).
import { createHttpHeaders, type HttpClient, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';

export const SUB = '00000000-0000-0000-0000-000000000001';
export const RG = 'ferry-prod';
export const ARM = 'https://management.azure.com';

export const diskId = (name: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/${name}`;
export const vmId = (name: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${name}`;

export interface FakeDisk { name: string; sku: string; zones?: string[]; tags: Record<string, string>; managedBy: string | null; diskState?: string }
export interface FakeDataDisk { lun: number; name: string; createOption: string; caching: string; managedDisk: { id: string }; toBeDetached?: boolean; detachOption?: string }
export interface FakeVm { name: string; zones?: string[]; dataDisks: FakeDataDisk[]; etagCounter: number }

interface Canned { status: number; body?: unknown; headers?: Record<string, string> }

export class FakeArm {
  readonly disks = new Map<string, FakeDisk>();
  readonly vms = new Map<string, FakeVm>();
  readonly log: string[] = [];
  /** PATCH bodies received, in order. */
  readonly patches: Array<{ vm: string; ifMatch: string | undefined; body: { properties?: { storageProfile?: { dataDisks?: FakeDataDisk[] } } } }> = [];
  /** How many "InProgress" answers an async operation gives before its final status. */
  asyncPolls = 1;
  private readonly injected: Array<{ match: RegExp; response: Canned }> = [];
  private readonly operations = new Map<string, { remaining: number; final: Canned['body']; apply: () => void }>();
  private opCounter = 0;
  /** Set to make the next PATCH's async operation fail with this ARM error. */
  failNextOperation: { code: string; message: string } | null = null;

  addDisk(d: Partial<FakeDisk> & { name: string }): void {
    this.disks.set(d.name, { sku: 'Premium_ZRS', tags: {}, managedBy: null, ...d });
  }

  addVm(v: Partial<FakeVm> & { name: string }): void {
    this.vms.set(v.name, { dataDisks: [], etagCounter: 1, ...v });
  }

  /** The next request whose "METHOD path" matches gets this response instead. */
  inject(match: RegExp, response: Canned): void {
    this.injected.push({ match, response });
  }

  readonly httpClient: HttpClient = {
    sendRequest: async (request: PipelineRequest): Promise<PipelineResponse> => {
      const url = new URL(request.url);
      const line = `${request.method} ${url.pathname}`;
      this.log.push(line);
      const i = this.injected.findIndex((x) => x.match.test(line));
      if (i >= 0) {
        const [{ response }] = this.injected.splice(i, 1);
        return this.respond(request, response);
      }
      return this.respond(request, this.route(request, url));
    },
  };

  private respond(request: PipelineRequest, c: Canned): PipelineResponse {
    return {
      request,
      status: c.status,
      headers: createHttpHeaders({ 'content-type': 'application/json', 'x-ms-request-id': `req-${this.log.length}`, ...(c.headers ?? {}) }),
      bodyAsText: c.body === undefined ? '' : JSON.stringify(c.body),
    };
  }

  private route(request: PipelineRequest, url: URL): Canned {
    const p = url.pathname;
    let m = /\/providers\/Microsoft\.Compute\/disks\/([^/]+)$/i.exec(p);
    if (m && request.method === 'GET') {
      const d = this.disks.get(decodeURIComponent(m[1]!));
      return d ? { status: 200, body: this.diskBody(d) } : notFound('disks', m[1]!);
    }
    if (/\/providers\/Microsoft\.Compute\/disks$/i.test(p) && request.method === 'GET') {
      const all = [...this.disks.values()].map((d) => this.diskBody(d));
      // Two pages, to exercise nextLink.
      if (url.searchParams.get('page') === '2') return { status: 200, body: { value: all.slice(1) } };
      return { status: 200, body: { value: all.slice(0, 1), nextLink: `${ARM}${p}?api-version=${url.searchParams.get('api-version')}&page=2` } };
    }
    m = /\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/i.exec(p);
    if (m) {
      const vm = this.vms.get(decodeURIComponent(m[1]!));
      if (!vm) return notFound('virtualMachines', m[1]!);
      if (request.method === 'GET') return { status: 200, body: this.vmBody(vm), headers: { etag: etagOf(vm) } };
      if (request.method === 'PATCH') return this.patchVm(request, vm, url);
    }
    m = /\/operations\/(op-\d+)$/.exec(p);
    if (m && request.method === 'GET') {
      const op = this.operations.get(m[1]!);
      if (!op) return notFound('operations', m[1]!);
      if (op.remaining > 0) {
        op.remaining--;
        return { status: 200, body: { name: m[1], status: 'InProgress', startTime: '2026-01-01T00:00:00Z' } };
      }
      op.apply();
      return { status: 200, body: op.final };
    }
    return { status: 400, body: { error: { code: 'FakeArmUnhandled', message: `${request.method} ${p}` } } };
  }

  private patchVm(request: PipelineRequest, vm: FakeVm, url: URL): Canned {
    const ifMatch = request.headers.get('if-match') ?? undefined;
    const body = JSON.parse(String(request.body ?? '{}'));
    this.patches.push({ vm: vm.name, ifMatch, body });
    if (ifMatch !== undefined && ifMatch !== etagOf(vm)) {
      return { status: 412, body: { error: { code: 'PreconditionFailed', message: 'The condition specified using HTTP conditional header(s) is not met.' } } };
    }
    const wanted: FakeDataDisk[] = body.properties?.storageProfile?.dataDisks ?? vm.dataDisks;
    // Validate like ARM: attaching a disk held by another VM, or a zonal disk in another zone.
    for (const dd of wanted) {
      if (dd.toBeDetached) continue;
      const name = dd.managedDisk.id.split('/').pop()!;
      const disk = this.disks.get(name);
      if (!disk) return notFound('disks', name);
      if (disk.managedBy && disk.managedBy.toLowerCase() !== vmId(vm.name).toLowerCase()) {
        return { status: 409, body: { error: { code: 'OperationNotAllowed', message: `Disk '${name}' is already attached to VM '${disk.managedBy}'.` } } };
      }
      if (!/_ZRS$/.test(disk.sku) && disk.zones && vm.zones && disk.zones[0] !== vm.zones[0]) {
        return { status: 400, body: { error: { code: 'BadRequest', message: `Disk ${name} is in zone ${disk.zones[0]}; cannot attach to a VM in zone ${vm.zones[0]}.` } } };
      }
    }
    const apply = () => {
      for (const dd of wanted) {
        const name = dd.managedDisk.id.split('/').pop()!;
        const disk = this.disks.get(name)!;
        if (dd.toBeDetached) disk.managedBy = null;
        else disk.managedBy = vmId(vm.name);
      }
      vm.dataDisks = wanted.filter((d) => !d.toBeDetached).map((d) => ({ ...d, name: d.managedDisk.id.split('/').pop()! }));
      vm.etagCounter++;
    };
    const id = `op-${++this.opCounter}`;
    const fail = this.failNextOperation;
    this.failNextOperation = null;
    this.operations.set(id, {
      remaining: this.asyncPolls,
      final: fail ? { name: id, status: 'Failed', error: fail } : { name: id, status: 'Succeeded' },
      apply: fail ? () => {} : apply,
    });
    const asyncUrl = `${ARM}/subscriptions/${SUB}/providers/Microsoft.Compute/locations/westeurope/operations/${id}?api-version=${url.searchParams.get('api-version')}`;
    return { status: 200, body: { ...this.vmBody(vm), properties: { ...this.vmBody(vm).properties, provisioningState: 'Updating' } }, headers: { 'azure-asyncoperation': asyncUrl, etag: etagOf(vm) } };
  }

  private diskBody(d: FakeDisk) {
    return {
      id: diskId(d.name), name: d.name, type: 'Microsoft.Compute/disks', location: 'westeurope', tags: d.tags,
      sku: { name: d.sku, tier: 'Premium' }, ...(d.zones ? { zones: d.zones } : {}),
      ...(d.managedBy ? { managedBy: d.managedBy } : {}),
      properties: { diskSizeGB: 64, diskState: d.diskState ?? (d.managedBy ? 'Attached' : 'Unattached'), provisioningState: 'Succeeded', creationData: { createOption: 'Empty' } },
    };
  }

  private vmBody(vm: FakeVm) {
    return {
      id: vmId(vm.name), name: vm.name, type: 'Microsoft.Compute/virtualMachines', location: 'westeurope', etag: etagOf(vm),
      ...(vm.zones ? { zones: vm.zones } : {}),
      properties: {
        provisioningState: 'Succeeded',
        hardwareProfile: { vmSize: 'Standard_D4s_v5' },
        storageProfile: {
          osDisk: { osType: 'Linux', name: `${vm.name}-os`, createOption: 'FromImage', caching: 'ReadWrite', managedDisk: { id: diskId(`${vm.name}-os`) } },
          dataDisks: vm.dataDisks.map((d) => ({ ...d, diskSizeGB: 64, toBeDetached: false })),
        },
      },
    };
  }
}

function etagOf(vm: FakeVm): string {
  return `"${vm.etagCounter}"`;
}

function notFound(type: string, name: string): Canned {
  return { status: 404, body: { error: { code: 'ResourceNotFound', message: `The Resource 'Microsoft.Compute/${type}/${name}' under resource group '${RG}' was not found.` } } };
}

/** A credential that never leaves the process. */
export const fakeCredential = {
  async getToken() {
    return { token: 'fake-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};
