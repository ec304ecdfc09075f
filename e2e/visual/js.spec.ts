import { expect, test } from "../support/test";
import { visualSuite } from "./steps";

/** The visual baselines with JavaScript (e2e/visual/steps.ts). */
visualSuite(test, expect, true);
