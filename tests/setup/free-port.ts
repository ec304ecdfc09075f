export { freePort } from "../../app/services/free-port.server";
