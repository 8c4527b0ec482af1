// PLACEHOLDER: being written; replaced by the real policy.
import { VmdedupError } from "../../hypervisor/index.ts";
import { NoneScanner } from "../none.ts";
export class EsxScanner extends NoneScanner {
  constructor(...args: ConstructorParameters<typeof NoneScanner>) {
    super(...args);
    throw new VmdedupError("policy esx is not implemented yet");
  }
}
