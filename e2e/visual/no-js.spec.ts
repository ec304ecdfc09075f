import { expect, test } from "@playwright/test";
import { visualSuite } from "./steps";

/** The visual baselines without JavaScript (e2e/visual/steps.ts). */
visualSuite(test, expect, false);
