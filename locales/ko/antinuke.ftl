# AntiNuke: /antinuke, 사건 버튼과 알림. 대응 파일: locales/en-US/antinuke.ftl.

## 행동 종류, 처벌, 사건 상태

antinuke-class-channel-delete = 채널 삭제
antinuke-class-channel-create = 채널 생성
antinuke-class-role-delete = 역할 삭제
antinuke-class-role-create = 역할 생성
antinuke-class-ban = 차단
antinuke-class-kick = 추방
antinuke-class-prune = 멤버 정리
antinuke-class-webhook-create = 웹후크 생성
antinuke-class-permission-grant = 위험한 권한 부여
antinuke-class-bot-add = 봇 추가
antinuke-class-guild-update = 서버 이름·초대 주소 변경
antinuke-punishment-strip-roles = 모든 역할 회수
antinuke-punishment-quarantine = 모든 역할 회수 후 격리
antinuke-punishment-kick = 추방
antinuke-punishment-ban = 차단
antinuke-punishment-none = 없음 (처벌하지 못함)
antinuke-status-open = 진행 중
antinuke-status-restoring = 복구 중
antinuke-status-resolved = 해결됨
antinuke-status-false-positive = 오탐

## /antinuke status

antinuke-status-header = **AntiNuke**: { $state }
antinuke-status-response = 공격자 대응: { $punishment } · 잠금 { $lockdown } · 자동 복구 { $auto_revert }
antinuke-status-exempt = 집계하지 않음: 소유자, 신뢰하는 사용자·역할(`/umbra settings trust`), Umbra, 허용 목록 — 사용자 { $users }, 역할 { $roles }
antinuke-status-incidents = 사건: 진행 중 { $open }건, 전체 { $total }건 (`/antinuke incidents`).
antinuke-status-value = 켜짐 — { $punishment }
antinuke-thresholds-title = **기준** (한 사람이 시간 안에 한 행동 수):
antinuke-threshold-line = • { $class }: { $window }초 안에 { $count }회{ $custom ->
    [yes] { " " }(이 서버 설정)
   *[other] {""}
}
antinuke-plan-limit = ⚠️ 요금제에 포함되지 않아 적용되지 않음: { $feature }.
antinuke-feature-detection = AntiNuke 감지
antinuke-feature-punishment = 선택한 처벌 (대신 모든 역할 회수를 사용)
antinuke-feature-lockdown = 잠금
antinuke-feature-auto-revert = 자동 복구
antinuke-feature-custom-thresholds = 이 서버의 기준 (기본값 사용)
antinuke-warn-audit-log = ⚠️ Umbra가 이 서버의 감사 로그를 볼 수 없습니다. Umbra 역할에 **감사 로그 보기** 권한을 주지 않으면 AntiNuke가 누가 무엇을 하는지 알 수 없습니다.

## /antinuke enable | disable | thresholds | whitelist | punishment | incidents

antinuke-enabled = AntiNuke가 **켜졌습니다**. 소유자, 신뢰하는 사용자·역할, 허용 목록이 아닌 누군가가 기준을 넘으면 즉시 멈추고({ $punishment }), 되돌릴 수 있는 DM을 보내 드립니다. Umbra 역할을 역할 목록 맨 위에 두세요: 자기보다 낮은 사람만 멈출 수 있습니다.
antinuke-disabled = AntiNuke가 **꺼졌습니다**. `/antinuke enable`로 다시 켤 때까지 아무것도 감시하지 않습니다.
antinuke-threshold-set = { $class }: 이제 { $window }초 안에 { $count }회면 사건이 됩니다.
antinuke-threshold-reset = { $class }: 기본값({ $window }초 안에 { $count }회)으로 돌아갔습니다.
antinuke-whitelist-list = AntiNuke 허용 목록: { $items }
antinuke-whitelist-added = { $target }을(를) AntiNuke 허용 목록에 추가했습니다. 이 대상의 행동은 집계하지 않습니다.
antinuke-whitelist-removed = { $target }을(를) AntiNuke 허용 목록에서 뺐습니다.
antinuke-whitelist-already = { $target }은(는) 이미 AntiNuke 허용 목록에 있습니다.
antinuke-whitelist-not-found = { $target }은(는) AntiNuke 허용 목록에 없습니다.
antinuke-punishment-set = 감지된 공격자 처리: { $punishment } (봇은 항상 추방) · 잠금 { $lockdown } · 자동 복구 { $auto_revert }
antinuke-incidents-title = **AntiNuke 사건** (최근 { $count }건):
antinuke-incidents-empty = 이 서버에는 AntiNuke 사건이 없습니다.
antinuke-incident-line = `{ $id }` { $when } — { $actor }: { $class } { $count }회 → { $punishment } — { $status } — 대상 { $destroyed }개

## 사건 버튼

antinuke-button-restore = 파괴된 것 복구
antinuke-button-false-positive = 오탐
antinuke-already-handled = 이 사건은 이미 { $status } 상태입니다.
antinuke-restore-not-ready = 공격 직전 스냅샷을 아직 준비하고 있습니다. 몇 초 뒤에 다시 눌러 주세요.
antinuke-action-failed = 실패했습니다: { $details }
antinuke-restore-started = 파괴된 것을 복구하고 있습니다 (작업 `{ $job }`, 대상 { $items }개, 차단 해제 { $unbanned }명). 진행 상황과 결과를 여기에 알려 드립니다.
antinuke-false-positive-done = 오탐으로 처리했습니다: { $actor }에게 역할 { $roles }개를 돌려주었습니다. 다시 일어나지 않게 하려면 신뢰 사용자로 지정하거나(`/umbra settings trust`) `/antinuke whitelist`에 추가하세요.
antinuke-false-positive-kicked = 추방되었으므로 다시 초대해야 합니다.

## 오류

error-antinuke-threshold-bounds = 기준의 횟수는 1에서 { $max_count } 사이, 시간은 1초에서 { $max_window }초 사이여야 합니다.
error-antinuke-threshold-needs-action = 기준을 바꿀 행동을 고르세요.
error-antinuke-plan-feature = 이 서버의 요금제에는 { $feature ->
    [detection] AntiNuke 감지가
    [punishment] 이 처벌이
    [lockdown] 잠금이
    [auto_revert] 자동 복구가
   *[custom_thresholds] 직접 정하는 기준이
} 포함되어 있지 않습니다. `/umbra status`에서 요금제를 확인하세요.
error-antinuke-quarantine-role = 격리 역할은 @everyone이나 봇·연동이 관리하는 역할일 수 없습니다.

## 알림

notify-incident-detected = 🚨 **AntiNuke가 { $guild }에서 테러를 막았습니다.** { $actor }님이 몇 초 만에 { $class ->
    [channel_delete] 채널 삭제
    [channel_create] 채널 생성
    [role_delete] 역할 삭제
    [role_create] 역할 생성
    [ban] 차단
    [kick] 추방
    [prune] 멤버 정리
    [webhook_create] 웹후크 생성
    [permission_grant] 위험한 권한 부여
    [bot_add] 봇 추가
   *[guild_update] 서버 이름·초대 주소 변경
}을(를) { $count }회 했습니다 (영향받은 대상 { $destroyed }개). { $outcome ->
    [strip_roles] 모든 역할을 회수했습니다.
    [quarantine] 모든 역할을 회수하고 격리했습니다.
    [kick] 추방했습니다.
    [ban] 차단했습니다.
    [hierarchy] Umbra가 멈추지 못했습니다: 그 사람의 가장 높은 역할 { $blocker }이(가) Umbra 역할보다 높습니다. 서버 설정 → 역할에서 Umbra 역할을 그 위로 옮기세요.
   *[failed] Umbra가 멈추지 못했습니다 (Discord가 거부). Umbra의 권한을 확인하세요.
} 공격 직전의 서버 스냅샷을 저장했습니다. **파괴된 것 복구**를 누르면 되돌리고, **오탐**을 누르면 역할을 돌려줍니다.
notify-incident-resolved = ✅ **{ $guild }**의 AntiNuke 사건({ $actor }): { $by }님이 { $resolution ->
    [restored] 파괴된 것을 복구했습니다
   *[false_positive] 오탐으로 처리했습니다
}.

## 명령어 이름과 설명

cmd-antinuke = 안티뉴크
cmd-antinuke-desc = AntiNuke: 테러를 일어나는 순간 막습니다 (소유자와 신뢰하는 사용자)
cmd-antinuke-status = 상태
cmd-antinuke-status-desc = AntiNuke 설정, 기준, 사건 보기
cmd-antinuke-enable = 켜기
cmd-antinuke-enable-desc = AntiNuke 켜기
cmd-antinuke-disable = 끄기
cmd-antinuke-disable-desc = AntiNuke 끄기
cmd-antinuke-thresholds = 기준
cmd-antinuke-thresholds-desc = 기준을 보거나, 한 행동의 기준을 정하거나 되돌리기
cmd-antinuke-thresholds-opt-action = 행동
cmd-antinuke-thresholds-opt-action-desc = 행동 종류 (비우면 모든 기준 보기)
cmd-antinuke-thresholds-opt-action-choice-0 = 채널 삭제
cmd-antinuke-thresholds-opt-action-choice-1 = 채널 생성
cmd-antinuke-thresholds-opt-action-choice-2 = 역할 삭제
cmd-antinuke-thresholds-opt-action-choice-3 = 역할 생성
cmd-antinuke-thresholds-opt-action-choice-4 = 차단
cmd-antinuke-thresholds-opt-action-choice-5 = 추방
cmd-antinuke-thresholds-opt-action-choice-6 = 멤버 정리
cmd-antinuke-thresholds-opt-action-choice-7 = 웹후크 생성
cmd-antinuke-thresholds-opt-action-choice-8 = 위험한 권한 부여
cmd-antinuke-thresholds-opt-action-choice-9 = 봇 추가
cmd-antinuke-thresholds-opt-action-choice-10 = 서버 이름·초대 주소 변경
cmd-antinuke-thresholds-opt-count = 횟수
cmd-antinuke-thresholds-opt-count-desc = 몇 번이면 사건이 되는지 (횟수와 시간을 비우면 기본값으로)
cmd-antinuke-thresholds-opt-window = 시간
cmd-antinuke-thresholds-opt-window-desc = 몇 초 안에
cmd-antinuke-whitelist = 허용목록
cmd-antinuke-whitelist-desc = AntiNuke가 집계하지 않는 사용자와 역할
cmd-antinuke-whitelist-opt-action = 작업
cmd-antinuke-whitelist-opt-action-desc = 추가, 제거 또는 목록
cmd-antinuke-whitelist-opt-action-choice-0 = 추가
cmd-antinuke-whitelist-opt-action-choice-1 = 제거
cmd-antinuke-whitelist-opt-action-choice-2 = 목록
cmd-antinuke-whitelist-opt-user = 사용자
cmd-antinuke-whitelist-opt-user-desc = 사용자 (예: 신뢰하는 봇)
cmd-antinuke-whitelist-opt-role = 역할
cmd-antinuke-whitelist-opt-role-desc = 역할
cmd-antinuke-punishment = 처벌
cmd-antinuke-punishment-desc = 감지된 공격자 처리, 잠금, 자동 복구
cmd-antinuke-punishment-opt-kind = 종류
cmd-antinuke-punishment-opt-kind-desc = 처벌 (봇은 항상 추방)
cmd-antinuke-punishment-opt-kind-choice-0 = 모든 역할 회수 (되돌릴 수 있음)
cmd-antinuke-punishment-opt-kind-choice-1 = 모든 역할 회수 후 격리 역할 부여
cmd-antinuke-punishment-opt-kind-choice-2 = 추방
cmd-antinuke-punishment-opt-kind-choice-3 = 차단
cmd-antinuke-punishment-opt-lockdown = 잠금
cmd-antinuke-punishment-opt-lockdown-desc = 역할의 위험한 권한을 빼고 초대를 멈추기도 함
cmd-antinuke-punishment-opt-auto-revert = 자동복구
cmd-antinuke-punishment-opt-auto-revert-desc = 기다리지 않고 파괴된 것을 복구
cmd-antinuke-punishment-opt-quarantine-role = 격리역할
cmd-antinuke-punishment-opt-quarantine-role-desc = 격리할 때 줄 역할 (비우면 Umbra가 만듦)
cmd-antinuke-incidents = 사건
cmd-antinuke-incidents-desc = 이 서버의 최근 AntiNuke 사건 목록
