// PLACEHOLDER: being written; replaced by the real policy.
import { VmdedupError } from "../../hypervisor/index.ts";
import { NoneScanner } from "../none.ts";
export class VmdedupScanner extends NoneScanner {
  constructor(...args: ConstructorParameters<typeof NoneScanner>) {
    super(...args);
    throw new VmdedupError("policy vmdedup is not implemented yet");
  }
}
